-- Projections for policies and projects, kept in the transaction of the entry that
-- changes them, append-only like the log. The policy text itself is in the
-- policy.adopted entry's leaf: the log alone reproduces every allocation.

CREATE TABLE policies (
    log_id      text   NOT NULL,
    hash        bytea  NOT NULL CHECK (length(hash) = 32),  -- blake3 of the policy text
    name        text   NOT NULL,
    adopted_seq bigint NOT NULL,
    PRIMARY KEY (log_id, hash),
    FOREIGN KEY (log_id, adopted_seq) REFERENCES entries (log_id, seq)
);

-- A project's first realized value fixes the currency of all its later ones.
CREATE TABLE project_currencies (
    log_id    text   NOT NULL,
    project   text   NOT NULL,
    currency  text   NOT NULL,
    fixed_seq bigint NOT NULL,
    PRIMARY KEY (log_id, project),
    FOREIGN KEY (log_id, fixed_seq) REFERENCES entries (log_id, seq)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['policies', 'project_currencies'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON policies, project_currencies TO fairshare_app;
