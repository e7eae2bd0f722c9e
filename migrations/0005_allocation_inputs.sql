-- What allocations are computed from, as plain columns: the project's contributions,
-- endorsements and measured coalitions, written in the transaction of their entries and
-- append-only like the log. The allocator reads these instead of parsing every leaf back
-- into an entry; the offline verifier recomputes from the leaves, so a disagreement between
-- the two is caught there. Decimals are kept as the text the entry parsed to (rust_decimal's
-- own form), which reads back to the same value and scale; ids are the raw 32 bytes.
-- No foreign key to entries: these tables take a row for most entries of the log, and a
-- per-row referential check halved batch ingest (BENCHMARKS.md, "Ingest"); each row is
-- written by the sequencer in its entry's own transaction.

CREATE TABLE contributions (
    log_id    text    NOT NULL,
    seq       bigint  NOT NULL,
    id        bytea   NOT NULL CHECK (length(id) = 32),
    project   text    NOT NULL,
    actor     text    NOT NULL,
    kind      text    NOT NULL,
    unit      text    NOT NULL,
    quantity  text    NOT NULL,
    -- The ids it builds on, concatenated in order (32 bytes each): one value per row, so
    -- the batch INSERT binds it as is.
    builds_on bytea   NOT NULL CHECK (length(builds_on) % 32 = 0),
    PRIMARY KEY (log_id, seq)
);
CREATE INDEX contributions_by_project ON contributions (log_id, project, seq);
-- Endorsements find their contribution's project here.
CREATE UNIQUE INDEX contributions_by_id ON contributions (log_id, id);

-- `project` is the endorsed contribution's.
CREATE TABLE endorsements (
    log_id       text    NOT NULL,
    seq          bigint  NOT NULL,
    project      text    NOT NULL,
    contribution bytea   NOT NULL CHECK (length(contribution) = 32),
    endorser     text    NOT NULL,
    accept       boolean NOT NULL,
    PRIMARY KEY (log_id, seq)
);
CREATE INDEX endorsements_by_project ON endorsements (log_id, project, seq);

CREATE TABLE measured_coalitions (
    log_id  text   NOT NULL,
    seq     bigint NOT NULL,
    project text   NOT NULL,
    members text[] NOT NULL,
    worth   text   NOT NULL,
    PRIMARY KEY (log_id, seq)
);
CREATE INDEX measured_coalitions_by_project ON measured_coalitions (log_id, project, seq);

-- The allocator looks for value entries without an allocation after every commit; without
-- this index that is a scan of the whole log.
CREATE INDEX entries_values ON entries (log_id, seq) WHERE entry_type = 'value.realized';

-- Logs written before this migration get their rows from their leaves (authoritative; these
-- tables are a function of them). Entry ids in bodies are 64 lowercase hex characters.
INSERT INTO contributions (log_id, seq, id, project, actor, kind, unit, quantity, builds_on)
SELECT e.log_id, e.seq, e.id, e.project, e.actor, b->>'kind', b->'measure'->>'unit',
       b->'measure'->>'quantity',
       COALESCE((SELECT string_agg(decode(p.id, 'hex'), ''::bytea ORDER BY p.i)
                   FROM jsonb_array_elements_text(COALESCE(b->'builds_on', '[]')) WITH ORDINALITY AS p(id, i)),
                 ''::bytea)
  FROM entries e, LATERAL (SELECT convert_from(e.leaf, 'UTF8')::jsonb->'envelope'->'body') AS j(b)
 WHERE e.entry_type = 'contribution';

INSERT INTO endorsements (log_id, seq, project, contribution, endorser, accept)
SELECT e.log_id, e.seq, e.project, e.refers_to, e.actor,
       convert_from(e.leaf, 'UTF8')::jsonb->'envelope'->'body'->>'decision' = 'accept'
  FROM entries e
 WHERE e.entry_type = 'endorsement';

INSERT INTO measured_coalitions (log_id, seq, project, members, worth)
SELECT e.log_id, e.seq, e.project,
       ARRAY(SELECT m.actor
               FROM jsonb_array_elements_text(b->'members') WITH ORDINALITY AS m(actor, i)
              ORDER BY m.i),
       b->>'value'
  FROM entries e, LATERAL (SELECT convert_from(e.leaf, 'UTF8')::jsonb->'envelope'->'body') AS j(b)
 WHERE e.entry_type = 'coalition.measured';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['contributions', 'endorsements', 'measured_coalitions'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON contributions, endorsements, measured_coalitions TO fairshare_app;
