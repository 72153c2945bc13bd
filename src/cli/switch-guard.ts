// The guard of the switch from connect-pg-simple (src/cli/switch.ts): a trigger on the old
// table that keeps this store in step with the old instances' writes and logouts while both
// releases run, installed by the `guard` step and dropped by `unguard`.
import { legacyTableName } from "../connect-pg-simple.js";
import { quoteIdent } from "../pg-backend.js";
import { type CliIo, EXIT_OK } from "./io.js";
import type { Client, Options } from "./switch.js";

export const GUARD_TRIGGER = "supabase_session_store_switch";
const GUARD_FUNCTION = "connect_pg_simple_switch_guard";

/**
 * The guard: a trigger on the old table, run by the old instances' own writes, in their
 * transactions (so it reads `expire` in their TimeZone: `expire::timestamptz`).
 * A delete of a live row is a logout: it leaves a tombstone here, and an error there fails
 * the logout rather than leaving the session alive here. A write is mirrored unless the
 * session was destroyed here; a failing mirror only warns (the old write goes on, and the
 * read-through or import finds the row later).
 */
function guardSql(old: string, store: string): string {
  const fn = `${store}.${GUARD_FUNCTION}`;
  const key = (row: string) => `pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(${row}.sid, 'UTF8')), 'hex')`;
  return `
create or replace function ${fn}()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' then
    if old.expire::timestamptz > pg_catalog.now() then
      insert into ${store}.sessions as s (sid, data, expires_at, destroyed_at)
      values (${key("old")}, '{}'::jsonb, pg_catalog.now(), pg_catalog.now())
      on conflict (sid) do update
         set data = '{}'::jsonb,
             expires_at = least(s.expires_at, pg_catalog.now()),
             destroyed_at = coalesce(s.destroyed_at, pg_catalog.now());
    end if;
    return old;
  end if;
  if new.expire::timestamptz <= pg_catalog.now() then
    return new;
  end if;
  begin
    if tg_op = 'UPDATE' and new.sess::text = old.sess::text then
      update ${store}.sessions s
         set expires_at = new.expire::timestamptz, updated_at = pg_catalog.now()
       where s.sid = ${key("new")} and s.destroyed_at is null and s.expires_at > pg_catalog.now();
      if not found then
        -- Not here yet (the import has not reached it): the whole row, unless destroyed here.
        insert into ${store}.sessions (sid, data, expires_at)
        values (${key("new")}, new.sess::jsonb, new.expire::timestamptz)
        on conflict (sid) do nothing;
      end if;
    else
      insert into ${store}.sessions as s (sid, data, expires_at)
      values (${key("new")}, new.sess::jsonb, new.expire::timestamptz)
      on conflict (sid) do update
         set data = excluded.data, expires_at = excluded.expires_at, updated_at = pg_catalog.now()
       where s.destroyed_at is null;
    end if;
  exception when others then
    raise warning 'supabase-session-store switch guard: an old instance''s session write was not mirrored (%)', sqlerrm;
  end;
  return new;
end;
$$;
revoke all on function ${fn}() from public, anon, authenticated;
comment on function ${fn}() is
  'The switch from connect-pg-simple (supabase-session-store switch-from-connect-pg-simple): mirrors the old table''s writes and logouts into the sessions table. Dropped by its unguard step.';
drop trigger if exists ${GUARD_TRIGGER} on ${old};
create trigger ${GUARD_TRIGGER} after insert or update or delete on ${old}
  for each row execute function ${fn}();
`;
}

export async function guard(client: Client, options: Options, io: CliIo): Promise<number> {
  const old = legacyTableName(options.old);
  await client.query("begin");
  try {
    await client.query(guardSql(old, quoteIdent(options.storeSchema)));
    await client.query("commit");
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  }
  io.stdout(
    `guard: installed on ${old}: old instances' writes and logouts now reach ${options.storeSchema}.sessions too.\n` +
      "Next: switch-from-connect-pg-simple import\n",
  );
  return EXIT_OK;
}

export async function unguard(client: Client, options: Options, io: CliIo): Promise<number> {
  const old = legacyTableName(options.old);
  const { rows } = await client.query("select pg_catalog.to_regclass($1) is not null as present", [old]);
  if (rows[0]?.present) await client.query(`drop trigger if exists ${GUARD_TRIGGER} on ${old}`);
  await client.query(`drop function if exists ${quoteIdent(options.storeSchema)}.${GUARD_FUNCTION}()`);
  io.stdout(
    `unguard: the trigger on ${old} is gone. Remove the store's connectPgSimple option, deploy, ` +
      `then drop the old table: drop table ${old};\n`,
  );
  return EXIT_OK;
}

export async function guarded(client: Client, old: string): Promise<boolean> {
  const { rows } = await client.query(
    "select 1 from pg_catalog.pg_trigger where tgrelid = pg_catalog.to_regclass($1) and tgname = $2",
    [old, GUARD_TRIGGER],
  );
  return rows.length > 0;
}
