-- Witness cosignatures (c2sp.org/tlog-cosignature) of stored checkpoints, one per witness
-- and checkpoint: the note signature line exactly as the witness made it, served after the
-- log's own signature. The server keeps only lines that verified under a witness key it was
-- configured with; readers verify them again. Append-only like the log.

CREATE TABLE checkpoint_cosignatures (
    log_id      text        NOT NULL,
    tree_size   bigint      NOT NULL,
    witness     text        NOT NULL,  -- the witness's verifier key (vkey)
    line        text        NOT NULL,  -- "— <name> <base64>", without the newline
    received_at timestamptz NOT NULL,
    PRIMARY KEY (log_id, tree_size, witness),
    FOREIGN KEY (log_id, tree_size) REFERENCES checkpoints (log_id, tree_size)
);

CREATE TRIGGER checkpoint_cosignatures_append_only BEFORE UPDATE OR DELETE ON checkpoint_cosignatures
    FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change();
CREATE TRIGGER checkpoint_cosignatures_no_truncate BEFORE TRUNCATE ON checkpoint_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change();

GRANT SELECT, INSERT ON checkpoint_cosignatures TO fairshare_app;
