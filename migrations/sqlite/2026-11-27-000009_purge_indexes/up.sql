-- The background purge deletes by expiry (and sessions also by end): indexes so that it
-- never scans whole tables.
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_ended ON sessions (ended_at);
CREATE INDEX grants_expiry ON grants (expires_at);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
CREATE INDEX mail_tokens_expiry ON mail_tokens (expires_at);
CREATE INDEX admin_sessions_ended ON admin_sessions (ended_at);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
