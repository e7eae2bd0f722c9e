-- The server checks at start, as its own login role, that every migration was applied
-- (it never migrates: the owner does, through `fairshare db migrate`).
GRANT SELECT ON _sqlx_migrations TO fairshare_app;
