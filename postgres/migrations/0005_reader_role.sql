-- The role ad hoc SQL (auditor sql) runs as on PostgreSQL (issue 18):
-- SELECT on the public views and the public tables layers, scans and
-- scan_errors, nothing else (views read their tables with their owner's
-- rights). Made only when the migrating user may create roles; roles are
-- the cluster's, so a second database reuses it. A later migration that
-- adds a view grants SELECT on it to auditor_reader too.
DO $$
DECLARE
    v record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'auditor_reader') THEN
        IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
            RAISE NOTICE 'auditor: no role auditor_reader, and % may not create it: auditor sql will refuse', current_user;
            RETURN;
        END IF;
        CREATE ROLE auditor_reader NOLOGIN;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT auditor_reader TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO auditor_reader', current_schema());
    FOR v IN SELECT viewname FROM pg_views WHERE schemaname = current_schema() LOOP
        EXECUTE format('GRANT SELECT ON %I TO auditor_reader', v.viewname);
    END LOOP;
    GRANT SELECT ON layers, scans, scan_errors TO auditor_reader;
END
$$;
