-- Idle timeout of SSO sessions (shared PCs): when the session was last used. Kept in the
-- database so that every instance sees the same value.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = auth_time;
