-- Service notices (服務公告) managed by admins: the text in both languages, when it is
-- shown, where (the registration site, the sign-in pages, the public feed /notices.json
-- relying parties read) and optionally a maintenance window during which applying and
-- resetting answer a maintenance page. Times are Unix seconds; `shown_until` NULL means
-- until the notice is removed. The rules (both texts, until after from, the window inside
-- the shown period) are checked by the service; the checks here only keep a bad write out.
CREATE TABLE service_notices (
    id TEXT PRIMARY KEY NOT NULL,
    text_zh_tw TEXT NOT NULL,
    text_en TEXT NOT NULL,
    shown_from BIGINT NOT NULL,
    shown_until BIGINT,
    on_register BOOLEAN NOT NULL,
    on_signin BOOLEAN NOT NULL,
    on_feed BOOLEAN NOT NULL,
    maintenance_from BIGINT,
    maintenance_until BIGINT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    CHECK (shown_until IS NULL OR shown_until > shown_from),
    CHECK ((maintenance_from IS NULL) = (maintenance_until IS NULL)),
    CHECK (maintenance_until IS NULL OR maintenance_until > maintenance_from)
);
-- Every page of the registration site and of the sign-in asks for the notices not ended
-- yet (and the maintenance check for the windows among them): one range scan.
CREATE INDEX service_notices_until ON service_notices (shown_until);
