DROP TABLE card_challenges;
