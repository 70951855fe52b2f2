DROP TABLE service_notices;
