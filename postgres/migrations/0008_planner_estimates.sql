-- 0008_planner_estimates: what PostgreSQL's planner needs to estimate the
-- rules' conditions on the views (no SQLite counterpart). Without it, a
-- rule's type = 'file', hidden_how = 'deleted' or visible = 1 was estimated
-- at 0.5% of the rows or fewer (33 of 4,036 regular files on the test
-- fleet, 1 of 278 hidden entries), and the views' joins ran as nested loops:
-- hidden-sensitive-file re-ran a join of every entry once per hidden row,
-- system-binary-fleet-drift one over its whole CTE once per row of it.

-- The names the views show for coded columns reach the tables as a CASE
-- over the code (the inlined auditor_*_name functions): with statistics of
-- those expressions, ANALYZE keeps the frequency of each name.
CREATE STATISTICS entries_type_name ON (auditor_type_name(type)) FROM entries;
CREATE STATISTICS entries_kind_name ON (auditor_kind_name(kind)) FROM entries;
CREATE STATISTICS hidden_how_name ON (auditor_hidden_how(how)) FROM hidden;

-- A boolean compared with SQLite's 0 or 1 becomes the boolean itself (or
-- its negation) once inlined with a constant: image_files.visible = 1 is
-- then h.seq IS NULL, which the planner knows for what it is (an anti-join
-- with hidden), where (h.seq IS NULL)::integer = 1 was a guess. Not
-- STRICT, or it would not be inlined; NULL still compares as NULL.
CREATE OR REPLACE FUNCTION auditor_bool_eq_int(boolean, integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    'SELECT CASE $2 WHEN 1 THEN $1 WHEN 0 THEN NOT $1 ELSE $1::integer = $2 END';
CREATE OR REPLACE FUNCTION auditor_bool_ne_int(boolean, integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    'SELECT CASE $2 WHEN 1 THEN NOT $1 WHEN 0 THEN $1 ELSE $1::integer <> $2 END';
