-- SQLite's functions and semantics that rules and ad hoc SQL use, for the
-- queries postgres.Translate rewrites (issue 18). Each behaves as the SQLite
-- index's (index/sqlfuncs.go, SQLite's built-ins) on the stored text form.

-- basename(path): Go's path.Base.
CREATE FUNCTION basename(p text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE WHEN p = '' THEN '.' WHEN rtrim(p, '/') = '' THEN '/' ELSE regexp_replace(rtrim(p, '/'), '^.*/', '') END
$$;

-- link_escapes(path, target): 1 if a relative symlink target at path,
-- resolved lexically from path's directory, climbs above the root.
CREATE FUNCTION link_escapes(p text, target text) RETURNS integer LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    n integer := 0;
    depth integer;
    el text;
BEGIN
    IF left(target, 1) = '/' THEN
        RETURN 0;
    END IF;
    FOREACH el IN ARRAY string_to_array(p, '/') LOOP
        IF el = '' OR el = '.' THEN
            CONTINUE;
        ELSIF el = '..' THEN
            n := greatest(n - 1, 0);
        ELSE
            n := n + 1;
        END IF;
    END LOOP;
    depth := greatest(n - 1, 0);
    FOREACH el IN ARRAY string_to_array(target, '/') LOOP
        IF el = '' OR el = '.' THEN
            CONTINUE;
        ELSIF el = '..' THEN
            depth := depth - 1;
            IF depth < 0 THEN
                RETURN 1;
            END IF;
        ELSE
            depth := depth + 1;
        END IF;
    END LOOP;
    RETURN 0;
END
$$;

-- SQLite's lower(), upper() and LIKE fold ASCII letters only.
CREATE FUNCTION auditor_lower(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
$$;
CREATE FUNCTION auditor_upper(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT translate(t, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')
$$;

-- A value in a condition is true when it is not zero, as in SQLite.
CREATE FUNCTION auditor_truth(b boolean) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT b';
CREATE FUNCTION auditor_truth(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT n <> 0';
CREATE FUNCTION auditor_truth(n bigint) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT n <> 0';
CREATE FUNCTION auditor_truth(n numeric) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT n <> 0';
CREATE FUNCTION auditor_truth(n double precision) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT n <> 0';
-- Text: its leading number, as SQLite reads it ('12abc' is 12, 'abc' 0).
CREATE FUNCTION auditor_truth(t text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT COALESCE(substring(t FROM '^\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?')::double precision, 0) <> 0
$$;

-- sum(boolean): SQLite's comparisons are 0 and 1, so SUM(a != b) counts.
CREATE FUNCTION auditor_sum_bool(s bigint, b boolean) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN b IS NULL THEN s ELSE COALESCE(s, 0) + b::integer END
$$;
CREATE AGGREGATE sum(boolean) (SFUNC = auditor_sum_bool, STYPE = bigint);

-- printf's %o.
CREATE FUNCTION auditor_oct(n bigint) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    s text := '';
    v numeric := n;
BEGIN
    IF v < 0 THEN
        v := v + 18446744073709551616; -- SQLite prints the 64-bit pattern
    END IF;
    IF v = 0 THEN
        RETURN '0';
    END IF;
    WHILE v > 0 LOOP
        s := (v % 8)::integer::text || s;
        v := div(v, 8);
    END LOOP;
    RETURN s;
END
$$;

-- json_each's value and type columns, as SQLite gives them: a string's
-- text, true and false as 1 and 0, null as NULL, numbers and containers
-- as their JSON text.
CREATE FUNCTION auditor_json_value(v json) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE json_typeof(v) WHEN 'string' THEN v #>> '{}' WHEN 'null' THEN NULL
            WHEN 'boolean' THEN CASE WHEN v::text = 'true' THEN '1' ELSE '0' END
            ELSE v::text END
$$;
CREATE FUNCTION auditor_json_type(v json) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE json_typeof(v) WHEN 'string' THEN 'text' WHEN 'boolean' THEN v::text
            WHEN 'number' THEN CASE WHEN v::text ~ '[.eE]' THEN 'real' ELSE 'integer' END
            ELSE json_typeof(v) END
$$;

-- doc as json, each NUL (\u0000, which PostgreSQL's json functions refuse to
-- turn into text) as its stored form U+F700 (text.go).
CREATE FUNCTION auditor_json(doc text) RETURNS json LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT regexp_replace(doc, '(?<![\\])((?:\\\\)*)\\u0000', '\1\\uf700', 'g')::json
$$;

-- json_each(doc [, path]) over an array: its elements, key the index (an
-- integer, as SQLite's; rules add to it), in order; over a scalar the
-- value itself (key NULL). path is the translated '$.a.b'. An object's key
-- would be text: Translate sends the labels and literal objects to
-- auditor_json_members, and this refuses an object.
CREATE FUNCTION auditor_json_not_array(d json) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'json_each over a JSON object (%...): on PostgreSQL its key is text; only json_each(labels) and literal objects are read as objects', left(d::text, 40);
END
$$;
CREATE FUNCTION auditor_json_each(doc text, p text[] DEFAULT '{}')
RETURNS TABLE (key bigint, value text, type text, atom text, fullkey text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
WITH j (v) AS (SELECT auditor_json(doc) #> p)
SELECT e.n - 1, auditor_json_value(e.value), auditor_json_type(e.value),
       CASE WHEN json_typeof(e.value) IN ('object', 'array') THEN NULL ELSE auditor_json_value(e.value) END,
       '$[' || (e.n - 1) || ']'
FROM j, json_array_elements(CASE WHEN json_typeof(j.v) = 'array' THEN j.v ELSE '[]'::json END) WITH ORDINALITY e (value, n)
UNION ALL
SELECT NULL, auditor_json_value(j.v), auditor_json_type(j.v), auditor_json_value(j.v), '$'
FROM j WHERE CASE json_typeof(j.v) WHEN 'object' THEN auditor_json_not_array(j.v) WHEN 'array' THEN false ELSE j.v IS NOT NULL END
$$;

-- json_each(labels): an object's members, key the name (text), in order;
-- an array's elements (key the index as text), or the value itself.
CREATE FUNCTION auditor_json_members(doc text, p text[] DEFAULT '{}')
RETURNS TABLE (key text, value text, type text, atom text, fullkey text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
WITH j (v) AS (SELECT auditor_json(doc) #> p)
SELECT e.key, auditor_json_value(e.value), auditor_json_type(e.value),
       CASE WHEN json_typeof(e.value) IN ('object', 'array') THEN NULL ELSE auditor_json_value(e.value) END,
       '$.' || e.key
FROM j, json_each(CASE WHEN json_typeof(j.v) = 'object' THEN j.v ELSE '{}'::json END) e
UNION ALL
SELECT a.key::text, a.value, a.type, a.atom, a.fullkey
FROM j, auditor_json_each(CASE WHEN json_typeof(j.v) = 'object' THEN NULL ELSE doc END, p) a
$$;

-- quote(x): SQLite's SQL literal of a value (text quoted, quotes doubled;
-- NULL as NULL; numbers as they are).
CREATE FUNCTION quote(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT COALESCE('''' || replace(t, '''', '''''') || '''', 'NULL')
$$;
CREATE FUNCTION quote(n bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT COALESCE(n::text, 'NULL')
$$;
