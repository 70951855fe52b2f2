DROP TABLE card_certificates;
