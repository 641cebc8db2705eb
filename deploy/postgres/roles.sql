-- The two database roles of Guichet, and what each may do. Idempotent; run it as a superuser
-- with psql, connected to the platform's database:
--
--   psql -v ON_ERROR_STOP=1 -d guichet -v dbname=guichet \
--        -v owner=guichet_owner -v owner_password=... \
--        -v app=guichet_app -v app_password=... -f deploy/postgres/roles.sql
--
-- The postgres container runs it on its first start (deploy/postgres/initdb/10-roles.sh).
--
-- owner  owns the database, every schema and table: the one-shot `migrate` service connects
--        as it to migrate, create agencies (schemas cloned at run time) and restore them.
-- app    what web, worker and beat connect as: it reads and writes rows, and nothing else. It
--        cannot create or alter a schema or table, cannot switch a trigger off, and has only
--        SELECT and INSERT on the audit tables, plus the sealing UPDATE of an event's place
--        (apps/audit/protection.py revokes the rest from
--        every role but the owner after each migration, creation or restore of a schema).
--
-- Default privileges give the app role its rights on every schema, table and sequence the
-- owner creates later, in any schema: a new agency's schema is usable by the app as soon as
-- the owner has created it. See docs/operations.md ("Database roles").

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'app')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec

SELECT format(
    'ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
    'PASSWORD %L', :'owner', :'owner_password'
) \gexec
SELECT format(
    'ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
    'PASSWORD %L', :'app', :'app_password'
) \gexec

-- The owner owns the database (so it may CREATE SCHEMA) and the public schema.
SELECT format('ALTER DATABASE %I OWNER TO %I', :'dbname', :'owner') \gexec
SELECT format('ALTER SCHEMA public OWNER TO %I', :'owner') \gexec

-- Nobody else connects or creates anything.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'dbname') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'dbname', :'app') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- What already exists (when this runs again on a migrated database).
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', nspname, :'app')
FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format(
    'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', nspname, :'app'
) FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format(
    'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', nspname, :'app'
) FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = :'owner') \gexec

-- What the owner creates from now on, in any schema (new agencies included).
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT USAGE ON SCHEMAS TO %I',
    :'owner', :'app') \gexec
SELECT format(
    'ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
    :'owner', :'app'
) \gexec
SELECT format(
    'ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I',
    :'owner', :'app'
) \gexec
