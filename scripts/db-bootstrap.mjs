// What makes a plain PostgreSQL cluster look like a hosted Supabase database: the bootstrap
// superuser, the two default-privilege regimes and the SQL the bootstrap runs. Pure data and
// SQL text; scripts/db.mjs runs it on the cluster it manages.

/** The bootstrap superuser: it makes the cluster look like Supabase's, and nothing else uses it. */
export const ADMIN_ROLE = "supabase_admin";
/**
 * Default privileges on new objects in `public`: "hosted" grants nothing to the API roles, as
 * every hosted project since 2026-10-30; "legacy" grants them everything, as projects did
 * before, so that the database suites can prove the migrations' revokes too.
 */
export const PRIVILEGE_REGIMES = ["hosted", "legacy"];

/**
 * Makes a plain cluster look like a hosted Supabase database before any migration runs,
 * following what Supabase's platform does (supabase/postgres: init-scripts
 * 00000000000000-initial-schema.sql, then migrations 10000000000000_demote-postgres,
 * 20220713082019_pg_cron-pg_net-temp-perms-fix, 20221028101028_set_authenticator_timeout,
 * 20230201083204_grant_auth_roles_to_postgres, 20230306081037_grant_pg_monitor_to_postgres,
 * 20230529180330_alter_api_roles_for_inherit, 20231020085357_revoke_writes_on_cron_job_from_postgres,
 * 20231130133139_set_lock_timeout_to_authenticator_role, 20240606060239_grant_predefined_roles_to_postgres).
 * Run by supabase_admin; idempotent.
 *
 * pg_cron, pgTAP and pg_stat_statements (which hosted projects have in `extensions`) are
 * created here, by the superuser: on hosted Supabase `postgres` may
 * `create extension` them only because supautils runs allow-listed extensions' scripts as
 * superuser; supautils is not packaged here, so they are pre-installed and a migration's
 * `create extension if not exists` finds them.
 */
export function bootstrapSql(privileges) {
  const apiRoles = "anon, authenticated, service_role";
  const defaultPrivileges = ["tables", "functions", "sequences"].map((kind) =>
    privileges === "legacy"
      ? `alter default privileges for role postgres in schema public grant all on ${kind} to ${apiRoles};`
      : `alter default privileges for role postgres in schema public revoke all on ${kind} from ${apiRoles};`
  ).join("\n");
  return `
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then create role postgres login; end if;
  if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then create role authenticator login noinherit; end if;
end $$;
alter role postgres nosuperuser createdb createrole login replication bypassrls;
alter role anon inherit nobypassrls;
alter role authenticated inherit nobypassrls;
alter role service_role inherit bypassrls;
alter database postgres owner to postgres;
grant all on database postgres to postgres;
grant ${apiRoles} to authenticator;
grant ${apiRoles} to postgres;
grant pg_read_all_data, pg_signal_backend, pg_monitor to postgres;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
create schema if not exists extensions;
grant all on schema extensions to postgres;
grant usage on schema extensions to ${apiRoles};
alter database postgres set search_path = "$user", public, extensions;
grant usage on schema public to ${apiRoles};
${defaultPrivileges}
create extension if not exists pgtap with schema extensions;
create extension if not exists pg_cron with schema pg_catalog;
create extension if not exists pg_stat_statements with schema extensions;
grant usage on schema cron to postgres with grant option;
grant all on all functions in schema cron to postgres with grant option;
grant all privileges on all tables in schema cron to postgres with grant option;
revoke all on table cron.job from postgres;
grant select on table cron.job to postgres with grant option;
`;
}
