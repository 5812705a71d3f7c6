-- rule_image_evals and rule_scope were added to 0002_findings after some
-- indexes had applied it: create them where they are missing. (A migration
-- once applied is never edited again; migrations_test.go pins them.)
CREATE TABLE IF NOT EXISTS rule_image_evals (
    rule_id      TEXT NOT NULL,
    image_digest TEXT NOT NULL,
    version      TEXT NOT NULL,
    stamp        TEXT NOT NULL,
    PRIMARY KEY (rule_id, image_digest)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_scope (
    rule_id      TEXT NOT NULL,
    image_digest TEXT NOT NULL,
    PRIMARY KEY (rule_id, image_digest)
) WITHOUT ROWID;
