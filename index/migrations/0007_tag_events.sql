-- tag_events: every change of what a tag points at, in time order: a digest
-- from then on, or NULL when the tag was found gone. tag_history keeps one
-- row per mapping (a tag moved back to an earlier digest only refreshes
-- that row); the changes since a point in time compare what each tag
-- pointed at then and now through these. (A development build had put this
-- table in 0006: hence IF NOT EXISTS, and the seeding only of an empty one.)
CREATE TABLE IF NOT EXISTS tag_events (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    tag           TEXT NOT NULL,
    at            TEXT NOT NULL,
    digest        TEXT,
    PRIMARY KEY (repository_id, tag, at)
) WITHOUT ROWID;
-- From the history so far: each mapping when first seen, then each tag's
-- latest mapping when last seen (it may have moved back to it), then gone
-- tags when found gone.
CREATE TEMP TABLE seed_tag_events AS SELECT NOT EXISTS (SELECT 1 FROM tag_events) AS empty;
INSERT OR REPLACE INTO tag_events (repository_id, tag, at, digest)
SELECT repository_id, tag, first_seen, digest FROM tag_history WHERE (SELECT empty FROM temp.seed_tag_events);
INSERT OR REPLACE INTO tag_events (repository_id, tag, at, digest)
SELECT t.repository_id, t.tag, t.last_seen, t.digest FROM tag_history t
WHERE (SELECT empty FROM temp.seed_tag_events)
  AND NOT EXISTS (SELECT 1 FROM tag_history n
                  WHERE n.repository_id = t.repository_id AND n.tag = t.tag AND n.last_seen > t.last_seen);
INSERT OR REPLACE INTO tag_events (repository_id, tag, at, digest)
SELECT repository_id, tag, max(gone), NULL FROM tag_history
WHERE (SELECT empty FROM temp.seed_tag_events)
GROUP BY repository_id, tag HAVING count(*) = count(gone);
DROP TABLE temp.seed_tag_events;
