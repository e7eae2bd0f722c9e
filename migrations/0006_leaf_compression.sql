-- Large leaves (an allocation entry over a big project is megabytes of JSON) are stored
-- compressed out of line. pglz, the default, took about 60 ms for a 2.4 MB leaf inside the
-- allocator's append; lz4 takes about 15 ms (BENCHMARKS.md, "Allocation end to end"). Only
-- new values are affected. A server built without lz4 keeps pglz: the refusal is caught so
-- the migration still applies there.
DO $$
BEGIN
    ALTER TABLE entries ALTER COLUMN leaf SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 not available; entries.leaf keeps the default compression';
END
$$;
