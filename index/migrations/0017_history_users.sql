-- 0017_history_users: the history of images indexed before 0015 gets its
-- user column, the USER in effect at each step, computed in Go from the
-- stored created_by (HistoryUser, index/historyuser.go) in this migration's
-- transaction (see afterMigration in db.go): nothing needs to be fetched
-- again. The config columns of 0015 stay NULL for those images until they
-- are indexed again.
SELECT 1;
