-- The stored Merkle tree (every complete subtree hash, written in the transaction of the
-- entries that complete it) and every signed checkpoint. Append-only like the log.

CREATE TABLE tree_nodes (
    log_id text     NOT NULL,
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx    bigint   NOT NULL CHECK (idx >= 0),
    hash   bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log_id, level, idx)
);

CREATE TABLE checkpoints (
    log_id    text        NOT NULL,
    tree_size bigint      NOT NULL CHECK (tree_size >= 0),
    root      bytea       NOT NULL CHECK (length(root) = 32),
    note      text        NOT NULL,  -- the C2SP signed note, exactly as served
    issued_at timestamptz NOT NULL,
    PRIMARY KEY (log_id, tree_size)
);

CREATE INDEX entries_by_leaf_hash ON entries (log_id, leaf_hash);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tree_nodes', 'checkpoints'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON tree_nodes, checkpoints TO fairshare_app;
