-- Erasure of one actor's data across 100,000 contributions, on the database's side: the
-- disclosure store's fairshare_erase carrying out 200 erasure entries of 1,000 fields each
-- (evidence and note of every contribution) among 400,000 openings (docs/BENCHMARKS.md).
--
--   fairshare db setup --admin-url postgres://postgres@127.0.0.1:5432/postgres --database erasure_bench
--   psql -q postgres://postgres@127.0.0.1:5432/erasure_bench -f benches/erasure.sql
--
-- The leaves are stand-ins (only fairshare_erase reads the erasure entries' leaves): run it
-- on a scratch database only.
\set ON_ERROR_STOP on
INSERT INTO entries (log_id, seq, id, leaf_hash, leaf, entry_type, actor, nonce, project, received_at)
SELECT 'default', g, sha256(('id' || g)::bytea), sha256(('lh' || g)::bytea), '{}'::bytea,
       'contribution', CASE WHEN g < 100000 THEN 'alice' ELSE 'other' || (g % 100) END, 'nonce-' || g, 'novel', now()
  FROM generate_series(0, 199999) g;
INSERT INTO disclosures (log_id, entry, field, commitment, subject, cleartext, salt, received_at)
SELECT 'default', e.id, f, sha256(e.id || f::bytea), e.actor, 'the ' || f || ' of contribution ' || e.seq,
       sha256(e.id || 'salt'::bytea), e.received_at
  FROM entries e, unnest(ARRAY['evidence', 'note']) f WHERE e.log_id = 'default';
INSERT INTO entries (log_id, seq, id, leaf_hash, leaf, entry_type, actor, nonce, received_at)
SELECT 'default', 200000 + b, sha256(('er' || b)::bytea), sha256(('erl' || b)::bytea),
       convert_to(json_build_object('envelope', json_build_object('body', json_build_object(
           'authority', 'subject', 'erased', json_agg(json_build_object('entry', encode(d.entry, 'hex'),
               'field', d.field, 'commitment', 'commit:' || encode(d.commitment, 'hex'))))))::text, 'UTF8'),
       'erasure', 'alice', 'erasure-' || b, now()
  FROM (SELECT d.*, (row_number() OVER (ORDER BY d.entry, d.field) - 1) / 1000 AS b
          FROM disclosures d WHERE d.subject = 'alice') d
 GROUP BY b;
VACUUM ANALYZE;
SELECT count(*) AS openings_before FROM disclosures;
\timing on
SELECT sum(fairshare_erase('default', s)) AS deleted FROM generate_series(200000, 200199) s;
\timing off
SELECT count(*) AS openings_after, count(*) FILTER (WHERE subject = 'alice') AS alices_left FROM disclosures;
