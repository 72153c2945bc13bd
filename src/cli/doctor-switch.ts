// The doctor's check of what a switch from connect-pg-simple leaves behind (src/cli/switch.ts):
// a guard still on the old table once the old release is gone, and the old table itself, which
// holds session ids in plain text (bearer credentials at rest) until it is dropped.
import { type Check, pass, warn } from "./doctor-check.js";
import { type Context, count, plural } from "./doctor-context.js";
import { GUARD_TRIGGER } from "./switch-guard.js";
import { quoteIdent } from "../pg-backend.js";
import { DEFAULT_LEGACY_TABLE } from "../connect-pg-simple.js";

const COUNT_UP_TO = 100_000;
const COMMAND = "npx supabase-session-store switch-from-connect-pg-simple";

/** The tables with the guard's trigger, and those with connect-pg-simple's three columns. */
export async function switchLeftovers(ctx: Context): Promise<Check[]> {
  const tables = await ctx.sql(
    `select nspname, relname, guard_schema from (
       select n.nspname, c.relname,
              -- The guard's function is in the schema of the store it mirrors into (--store-schema).
              (select fn.nspname from pg_catalog.pg_trigger t
                 join pg_catalog.pg_proc p on p.oid = t.tgfoid
                 join pg_catalog.pg_namespace fn on fn.oid = p.pronamespace
                where t.tgrelid = c.oid and t.tgname = $1) as guard_schema,
              array(select a.attname::text from pg_catalog.pg_attribute a
                     where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by 1) as columns
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')) t
      where guard_schema is not null or columns = array['expire', 'sess', 'sid']
      order by 1, 2`,
    [GUARD_TRIGGER],
  );
  if (!tables.length) return [pass("switch", "no table of connect-pg-simple's, no switch guard left")];
  const checks: Check[] = [];
  for (const t of tables) {
    const schema = String(t.nspname);
    const table = String(t.relname);
    const name = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    if (t.guard_schema !== null) {
      const flags = switchFlags(schema, table, String(t.guard_schema));
      checks.push(warn(
        "switch.guard",
        `the switch from connect-pg-simple is under way: its guard is on ${name}, mirroring old instances' ` +
          `writes and logouts into ${quoteIdent(String(t.guard_schema))}.sessions (every old write costs a second one)`,
        `${COMMAND} import --dry-run${flags}  # once no old instance runs: expect "to import 0"`,
        `${COMMAND} unguard${flags}`,
      ));
      continue;
    }
    // Counted up to a bound, so that a large old table costs the doctor little.
    const [rows] = await ctx.sql(
      `select (select count(*) from (select 1 from ${name} limit ${COUNT_UP_TO + 1}) r) as n,
              exists (select 1 from ${name} where expire > localtimestamp) as live`,
    );
    const n = count(rows?.n);
    if (n === 0) {
      checks.push(
        pass("switch.old-table", `${name} has connect-pg-simple's columns and is empty: drop it once unused`),
      );
      continue;
    }
    checks.push(warn(
      "switch.old-table",
      `${name} has connect-pg-simple's columns and holds ` +
        `${n > COUNT_UP_TO ? `over ${COUNT_UP_TO.toLocaleString("en-US")} rows` : plural(n, "row")}` +
        `${rows?.live ? ", live sessions among them" : ""}: session ids in plain text, bearer credentials at rest`,
      `drop table ${name}; -- once no instance runs connect-pg-simple or the store's connectPgSimple option`,
    ));
  }
  return checks;
}

/** The switch command's options naming this old table and store schema. */
function switchFlags(schema: string, table: string, storeSchema: string): string {
  return ` --schema ${shellWord(schema)}` +
    (table === DEFAULT_LEGACY_TABLE ? "" : ` --table ${shellWord(table)}`) +
    (storeSchema === "public" ? "" : ` --store-schema ${shellWord(storeSchema)}`);
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
