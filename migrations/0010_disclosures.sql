-- The disclosure store: the cleartexts and salts that open the commitments in the leaves
-- (docs/PRIVACY.md). It lives outside the log and is not append-only: an erasure deletes
-- from it. The application role may INSERT and SELECT it, and delete only by calling
-- `fairshare_erase`, which removes exactly what an `erasure` entry already in the log names
-- (read from that entry's own leaf) and records it in `erased`, append-only like the log.

CREATE TABLE disclosures (
    log_id      text        NOT NULL,
    entry       bytea       NOT NULL CHECK (length(entry) = 32),
    field       text        NOT NULL CHECK (field IN ('name', 'note', 'reason', 'evidence')),
    commitment  bytea       NOT NULL CHECK (length(commitment) = 32),
    -- The actor whose entry holds the field: the data subject.
    subject     text        NOT NULL,
    cleartext   text        NOT NULL,
    salt        bytea       NOT NULL CHECK (length(salt) = 32),
    -- The entry's received_at: what the retention setting counts from.
    received_at timestamptz NOT NULL,
    PRIMARY KEY (log_id, entry, field)
);
CREATE INDEX disclosures_by_age ON disclosures (log_id, field, received_at);
CREATE INDEX disclosures_by_subject ON disclosures (log_id, subject);

-- What erasures removed: (entry, field) pairs never disclosed again.
CREATE TABLE erased (
    log_id      text   NOT NULL,
    entry       bytea  NOT NULL CHECK (length(entry) = 32),
    field       text   NOT NULL,
    commitment  bytea  NOT NULL CHECK (length(commitment) = 32),
    -- No foreign key: fairshare_erase checked the entry, and a per-row check would cost
    -- one lookup for each of the (up to 1,000) fields an erasure names.
    erasure_seq bigint NOT NULL,
    PRIMARY KEY (log_id, entry, field)
);
-- Erasure entries already carried out, so one left undone by a crash is found again.
CREATE TABLE erasures_applied (
    log_id text   NOT NULL,
    seq    bigint NOT NULL,
    PRIMARY KEY (log_id, seq),
    FOREIGN KEY (log_id, seq) REFERENCES entries (log_id, seq)
);
CREATE INDEX entries_erasures ON entries (log_id, seq) WHERE entry_type = 'erasure';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['erased', 'erasures_applied'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;

-- An erased field is never stored again. Deposits hold the log's disclosure lock shared and
-- an erasure holds it exclusive (one lock each, whatever their size), so a deposit racing
-- an erasure waits for it and then sees the `erased` row.
CREATE FUNCTION fairshare_refuse_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('fairshare disclosures ' || NEW.log_id, 0));
    IF EXISTS (SELECT 1 FROM erased e
                WHERE e.log_id = NEW.log_id AND e.entry = NEW.entry AND e.field = NEW.field) THEN
        RAISE EXCEPTION 'fairshare: % of entry % was erased', NEW.field, encode(NEW.entry, 'hex')
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER disclosures_not_erased BEFORE INSERT ON disclosures
    FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_erased();
CREATE TRIGGER disclosures_no_update BEFORE UPDATE ON disclosures
    FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change();

-- Carries out the erasure entry at `erasure_seq`: deletes the disclosures it names (entry,
-- field and commitment, read from its leaf) and records them in `erased`. Runs as the
-- tables' owner; the application role may call it but holds no DELETE itself, so every
-- deletion from the disclosure store answers an erasure entry that stays in the log.
-- Returns the number of disclosures deleted; carrying an erasure out twice deletes nothing.
CREATE FUNCTION fairshare_erase(p_log_id text, p_erasure_seq bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    body jsonb;
    named_entries bytea[];
    named_fields text[];
    named_commitments bytea[];
    deleted bigint;
BEGIN
    SELECT convert_from(leaf, 'UTF8')::jsonb -> 'envelope' -> 'body' INTO body
      FROM entries WHERE log_id = p_log_id AND seq = p_erasure_seq AND entry_type = 'erasure';
    IF body IS NULL THEN
        RAISE EXCEPTION 'fairshare: entry % of log % is not an erasure', p_erasure_seq, p_log_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT array_agg(decode(item ->> 'entry', 'hex')), array_agg(item ->> 'field'),
           array_agg(decode(substr(item ->> 'commitment', length('commit:') + 1), 'hex'))
      INTO named_entries, named_fields, named_commitments
      FROM jsonb_array_elements(body -> 'erased') AS item;
    PERFORM pg_advisory_xact_lock(hashtextextended('fairshare disclosures ' || p_log_id, 0));
    INSERT INTO erased (log_id, entry, field, commitment, erasure_seq)
        SELECT p_log_id, n.e, n.f, n.c, p_erasure_seq
          FROM unnest(named_entries, named_fields, named_commitments) AS n(e, f, c)
        ON CONFLICT DO NOTHING;
    DELETE FROM disclosures d
     USING unnest(named_entries, named_fields, named_commitments) AS n(e, f, c)
     WHERE d.log_id = p_log_id AND d.entry = n.e AND d.field = n.f AND d.commitment = n.c;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    INSERT INTO erasures_applied (log_id, seq) VALUES (p_log_id, p_erasure_seq)
        ON CONFLICT DO NOTHING;
    RETURN deleted;
END
$$;
REVOKE ALL ON FUNCTION fairshare_erase(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fairshare_erase(text, bigint) TO fairshare_app;
GRANT SELECT, INSERT ON disclosures TO fairshare_app;
GRANT SELECT ON erased, erasures_applied TO fairshare_app;
