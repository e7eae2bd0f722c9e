-- Projects are entries with an owner (protocol v2): `project.opened` and `project.updated`
-- write the project's terms as they stand from that entry on (the latest row by seq is
-- current), `project.members` one row per admitted or removed actor (likewise). Append-only
-- like the log; rows are few (one per such entry), so each is written by its own INSERT.

CREATE TABLE project_terms (
    log_id       text     NOT NULL,
    project      text     NOT NULL,
    seq          bigint   NOT NULL,
    owner        text     NOT NULL,
    currency     text     NOT NULL,
    members_only boolean  NOT NULL,
    -- blake3 hashes of the admitted policies (32 bytes each), in the entry's order.
    policies     bytea[]  NOT NULL,
    realizers    text[]   NOT NULL,
    PRIMARY KEY (log_id, project, seq),
    FOREIGN KEY (log_id, seq) REFERENCES entries (log_id, seq)
);

CREATE TABLE project_members (
    log_id  text    NOT NULL,
    project text    NOT NULL,
    actor   text    NOT NULL,
    seq     bigint  NOT NULL,
    member  boolean NOT NULL,
    PRIMARY KEY (log_id, project, actor, seq),
    FOREIGN KEY (log_id, seq) REFERENCES entries (log_id, seq)
);

-- The currency is fixed by `project.opened` now, no longer by the first realized value.
DROP TABLE project_currencies;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['project_terms', 'project_members'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON project_terms, project_members TO fairshare_app;
