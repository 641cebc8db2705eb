-- Hand every schema, table, sequence, view and function of the platform's database to the
-- owner role. For an installation made before deploy/postgres/roles.sql, where everything
-- belongs to the superuser the application used to connect as (REASSIGN OWNED cannot move
-- the objects of the bootstrap superuser). Run it as a superuser, after roles.sql, then run
-- roles.sql again so the app role gets its rights on what the owner now owns:
--
--   psql -v ON_ERROR_STOP=1 -d guichet -v owner=guichet_owner -f transfer-ownership.sql
--
-- docs/operations.md, "Database roles", gives the whole procedure.

\set ON_ERROR_STOP on

SELECT format('ALTER SCHEMA %I OWNER TO %I', nspname, :'owner')
FROM pg_namespace
WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
ORDER BY nspname \gexec

-- Tables, views, materialized views and foreign tables (a table's own sequences follow it).
SELECT format('ALTER TABLE %I.%I OWNER TO %I', n.nspname, c.relname, :'owner')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
ORDER BY 1 \gexec

-- Sequences no table owns.
SELECT format('ALTER SEQUENCE %I.%I OWNER TO %I', n.nspname, c.relname, :'owner')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S'
  AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (
      SELECT FROM pg_depend d
      WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  )
ORDER BY 1 \gexec

SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'owner')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1 \gexec
