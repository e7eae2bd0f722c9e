-- Solver limits (`limits.set` entries) and what the measured game of each adopted policy may
-- cost: what the rules read to refuse a policy or a realized value beyond the limits. Kept
-- in the transaction of the entry that changes them, append-only like the log; policies
-- adopted before this migration have no row (their realizations are not priced).

CREATE TABLE solver_limits (
    log_id            text   NOT NULL,
    seq               bigint NOT NULL,
    exact_players     bigint NOT NULL,
    sampled_marginals bigint NOT NULL,
    measured_players  bigint NOT NULL,
    measurements      bigint NOT NULL,
    PRIMARY KEY (log_id, seq),
    FOREIGN KEY (log_id, seq) REFERENCES entries (log_id, seq)
);

CREATE TABLE policy_costs (
    log_id      text   NOT NULL,
    hash        bytea  NOT NULL CHECK (length(hash) = 32),
    exact_limit bigint NOT NULL,
    samples     bigint NOT NULL,
    PRIMARY KEY (log_id, hash),
    FOREIGN KEY (log_id, hash) REFERENCES policies (log_id, hash)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['solver_limits', 'policy_costs'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON solver_limits, policy_costs TO fairshare_app;
