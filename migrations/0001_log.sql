-- The log and its projections. Every table here is append-only: triggers refuse UPDATE,
-- DELETE and TRUNCATE (even for the table owner), and the application role may only
-- INSERT and SELECT. `log_id` keys every row so that one database can host many logs
-- (and Citus can distribute by it).

CREATE FUNCTION fairshare_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'fairshare: % on % is refused: the log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TABLE entries (
    log_id      text        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq >= 0),
    id          bytea       NOT NULL CHECK (length(id) = 32),        -- blake3(leaf)
    leaf_hash   bytea       NOT NULL CHECK (length(leaf_hash) = 32), -- SHA-256(0x00 || leaf)
    leaf        bytea       NOT NULL,                                -- exactly the hashed bytes
    entry_type  text        NOT NULL,
    actor       text        NOT NULL,
    nonce       text        NOT NULL,
    project     text,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (log_id, seq),
    UNIQUE (log_id, id),
    UNIQUE (log_id, actor, nonce)
);
CREATE INDEX entries_by_project ON entries (log_id, project, seq) WHERE project IS NOT NULL;

CREATE TABLE actors (
    log_id         text   NOT NULL,
    id             text   NOT NULL,
    kind           text   NOT NULL CHECK (kind IN ('human', 'ai', 'platform', 'regulator')),
    operator       text,
    registered_seq bigint NOT NULL,
    PRIMARY KEY (log_id, id),
    FOREIGN KEY (log_id, registered_seq) REFERENCES entries (log_id, seq),
    FOREIGN KEY (log_id, operator) REFERENCES actors (log_id, id)
);

CREATE TABLE actor_keys (
    log_id     text   NOT NULL,
    actor      text   NOT NULL,
    key_id     text   NOT NULL,
    public_key bytea  NOT NULL CHECK (length(public_key) = 32),
    added_seq  bigint NOT NULL,
    PRIMARY KEY (log_id, actor, key_id),
    FOREIGN KEY (log_id, actor) REFERENCES actors (log_id, id),
    FOREIGN KEY (log_id, added_seq) REFERENCES entries (log_id, seq)
);

CREATE TABLE key_revocations (
    log_id      text   NOT NULL,
    actor       text   NOT NULL,
    key_id      text   NOT NULL,
    revoked_seq bigint NOT NULL,
    PRIMARY KEY (log_id, actor, key_id),
    FOREIGN KEY (log_id, actor, key_id) REFERENCES actor_keys (log_id, actor, key_id),
    FOREIGN KEY (log_id, revoked_seq) REFERENCES entries (log_id, seq)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['entries', 'actors', 'actor_keys', 'key_revocations'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION fairshare_refuse_change()', t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION fairshare_refuse_change()', t || '_no_truncate', t);
    END LOOP;
END
$$;

-- The server's login role (fairshare_app) holds INSERT and SELECT only. Roles are
-- cluster-wide and made before the migrations run, by `fairshare db setup` or the
-- database administrator (docs/SECURITY.md): the owner that runs these cannot create roles.
GRANT SELECT, INSERT ON entries, actors, actor_keys, key_revocations TO fairshare_app;
