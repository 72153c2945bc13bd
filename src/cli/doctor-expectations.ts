// What a healthy deployment has, read from the migrations this package ships, so that
// a migration added later is checked without touching the doctor: the migrations
// themselves, the tables, indexes and functions they create, what they grant to
// service_role, the pg_cron jobs and the Vault secret names the schedule reads.
//
// The migrations are this package's own SQL, written in one style: top-level
// statements start at the beginning of a line and name objects `public.<name>`. For
// another schema they are read as `init --schema` and `migrations --schema` write them
// (migrationsFor), so that the jobs' commands and every printed fix name that schema.
import { migrationsFor } from "./migrations.js";

export interface Migration {
  version: string;
  name: string;
  file: string;
}

export interface CronJob {
  name: string;
  schedule: string;
  /** The migration's own `select cron.schedule(...)`, on one line: the fix when the job is missing or wrong. */
  statement: string;
  /** The SQL expression of the job's command, as the migration writes it (a literal, maybe concatenated). */
  commandSql: string;
  /** Whether this is the job that purges sessions (its runs are checked). */
  cleanup: boolean;
}

export interface Expectations {
  migrations: Migration[];
  /** Object name to the migration file that creates it. */
  tables: Map<string, string>;
  /** Table name to the columns its `create table` declares: a table of that name without them is not ours. */
  columns: Map<string, string[]>;
  indexes: Map<string, string>;
  functions: Map<string, string>;
  /** Function name to whether service_role may execute it (absent: the migrations do not say). */
  serviceRoleExecute: Map<string, boolean>;
  /** Table name to the privileges the migrations grant service_role. */
  serviceRoleTable: Map<string, string[]>;
  jobs: CronJob[];
  vaultSecrets: string[];
}

const MIGRATION_FILE = /^(\d+)_(.+)\.sql$/;

/** Reads the expectations from a supabase/migrations folder, as installed into `schema`. */
export function readExpectations(dir: string, schema = "public"): Expectations {
  const expected: Expectations = {
    migrations: [],
    tables: new Map(),
    columns: new Map(),
    indexes: new Map(),
    functions: new Map(),
    serviceRoleExecute: new Map(),
    serviceRoleTable: new Map(),
    jobs: [],
    vaultSecrets: [],
  };
  for (const [file, sql] of migrationsFor(dir, schema)) {
    const [, version, name] = file.match(MIGRATION_FILE) as RegExpMatchArray;
    expected.migrations.push({ version: version as string, name: name as string, file });
    readMigration(sql, file, schema, expected);
  }
  return expected;
}

function readMigration(sql: string, file: string, schema: string, expected: Expectations): void {
  // A schema name is a lower-case identifier (checkSchemaName): nothing in it needs escaping.
  const q = (pattern: string, flags = "gm") => new RegExp(pattern.replaceAll("SCHEMA", schema), flags);
  for (const m of sql.matchAll(q("^create table (?:if not exists )?SCHEMA\\.(\\w+) \\(\\n([\\s\\S]*?)\\n\\);"))) {
    expected.tables.set(m[1] as string, file);
    // One column or constraint a line; comments on lines of their own.
    const columns = (m[2] as string).split("\n").map((l) => l.match(/^\s*([a-z_]\w*)\s/)?.[1])
      .filter((c): c is string => !!c && !["constraint", "primary", "unique", "check", "foreign"].includes(c));
    expected.columns.set(m[1] as string, columns);
  }
  for (const m of sql.matchAll(q("^create (?:unique )?index (?:if not exists )?(\\w+) on SCHEMA\\."))) {
    expected.indexes.set(m[1] as string, file);
  }
  for (const m of sql.matchAll(q("^drop index (?:if exists )?SCHEMA\\.(\\w+)"))) {
    expected.indexes.delete(m[1] as string);
  }
  for (const m of sql.matchAll(q("^create (?:or replace )?function SCHEMA\\.(\\w+)\\("))) {
    if (!expected.functions.has(m[1] as string)) expected.functions.set(m[1] as string, file);
  }
  for (const m of sql.matchAll(q("^drop function (?:if exists )?SCHEMA\\.(\\w+)"))) {
    expected.functions.delete(m[1] as string);
  }

  // grant/revoke statements, in order: the last word on service_role wins.
  for (const m of sql.matchAll(/^(grant|revoke)\s[^;]*;/gm)) {
    const statement = m[0];
    const granted = m[1] === "grant";
    const roles = statement.match(/\s(?:to|from)\s+([^;]+);$/)?.[1] ?? "";
    if (!/\bservice_role\b/.test(roles)) continue;
    if (/\son function\s/.test(statement)) {
      for (const f of statement.matchAll(q("SCHEMA\\.(\\w+)\\(", "g"))) {
        expected.serviceRoleExecute.set(f[1] as string, granted);
      }
    }
    const table = statement.match(q("^grant ([\\w, ]+) on table SCHEMA\\.(\\w+)", ""));
    if (table && granted) {
      expected.serviceRoleTable.set(table[2] as string, (table[1] as string).split(",").map((p) => p.trim()));
    }
  }

  for (const m of sql.matchAll(/^select cron\.schedule\(\s*'([^']+)'\s*,\s*'([^']+)'\s*,\s*([^;]*)\);/gm)) {
    expected.jobs = expected.jobs.filter((j) => j.name !== m[1]);
    expected.jobs.push({
      name: m[1] as string,
      schedule: m[2] as string,
      statement: m[0].replace(/\s*\n\s*/g, " "),
      commandSql: m[3] as string,
      cleanup: /dispatch_session_cleanup|cleanup_expired_sessions/.test(m[0]),
    });
  }
  for (const m of sql.matchAll(/vault\.create_secret\('[^']*',\s*'(\w+)'\)/g)) {
    if (!expected.vaultSecrets.includes(m[1] as string)) expected.vaultSecrets.push(m[1] as string);
  }
}
