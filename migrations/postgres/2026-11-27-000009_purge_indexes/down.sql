DROP INDEX rate_limits_window;
DROP INDEX admin_sessions_ended;
DROP INDEX mail_tokens_expiry;
DROP INDEX refresh_tokens_expiry;
DROP INDEX grants_expiry;
DROP INDEX sessions_ended;
DROP INDEX sessions_expiry;
