-- Read-all grants (issue 14, "Who reads what"): each `read.granted` or `read.revoked` entry,
-- signed by a regulator, writes one row; an auditor reads the whole log while its latest
-- row says granted. Append-only like the log.

CREATE TABLE read_grants (
    log_id  text    NOT NULL,
    auditor text    NOT NULL,
    seq     bigint  NOT NULL,
    granted boolean NOT NULL,
    PRIMARY KEY (log_id, auditor, seq),
    FOREIGN KEY (log_id, seq) REFERENCES entries (log_id, seq)
);

CREATE TRIGGER read_grants_append_only BEFORE UPDATE OR DELETE ON read_grants
    FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change();
CREATE TRIGGER read_grants_no_truncate BEFORE TRUNCATE ON read_grants
    FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change();

GRANT SELECT, INSERT ON read_grants TO fairshare_app;
