-- Which value entries have their allocation entry (at most one each), for queries and for
-- the allocator to find pending work. Append-only like the log.

CREATE TABLE allocations (
    log_id         text   NOT NULL,
    value_id       bytea  NOT NULL CHECK (length(value_id) = 32),
    allocation_seq bigint NOT NULL,
    PRIMARY KEY (log_id, value_id),
    FOREIGN KEY (log_id, allocation_seq) REFERENCES entries (log_id, seq)
);

-- The endorsed contribution of an endorsement (its project is copied onto the endorsement
-- row, so a project's inputs come from one index range).
ALTER TABLE entries ADD COLUMN refers_to bytea;

DO $$
BEGIN
    EXECUTE 'CREATE TRIGGER allocations_append_only BEFORE UPDATE OR DELETE ON allocations FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change()';
    EXECUTE 'CREATE TRIGGER allocations_no_truncate BEFORE TRUNCATE ON allocations FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change()';
END
$$;

GRANT SELECT, INSERT ON allocations TO fairshare_app;
