DROP INDEX persons_name;
DROP INDEX audit_events_event;
DROP INDEX audit_events_client;
DROP TABLE admin_sessions;
DROP TABLE admins;
