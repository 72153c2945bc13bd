// What a healthy deployment has, read from the migrations this package ships, so that
// a migration added later is checked without touching the doctor: the migrations
// themselves, the tables, indexes and functions they create, what they grant to
// service_role, the pg_cron jobs and the Vault secret names the schedule reads.
//
// The migrations are this package's own SQL, written in one style: top-level
// statements start at the beginning of a line and name objects `public.<name>`.
import fs from "node:fs";
import path from "node:path";

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

/** Reads the expectations from a supabase/migrations folder. */
export function readExpectations(dir: string): Expectations {
  const files = fs.readdirSync(dir).filter((f) => MIGRATION_FILE.test(f)).sort();
  const expected: Expectations = {
    migrations: [],
    tables: new Map(),
    indexes: new Map(),
    functions: new Map(),
    serviceRoleExecute: new Map(),
    serviceRoleTable: new Map(),
    jobs: [],
    vaultSecrets: [],
  };
  for (const file of files) {
    const [, version, name] = file.match(MIGRATION_FILE) as RegExpMatchArray;
    expected.migrations.push({ version: version as string, name: name as string, file });
    readMigration(fs.readFileSync(path.join(dir, file), "utf8"), file, expected);
  }
  return expected;
}

function readMigration(sql: string, file: string, expected: Expectations): void {
  for (const m of sql.matchAll(/^create table (?:if not exists )?public\.(\w+)/gm)) {
    expected.tables.set(m[1] as string, file);
  }
  for (const m of sql.matchAll(/^create (?:unique )?index (?:if not exists )?(\w+) on public\./gm)) {
    expected.indexes.set(m[1] as string, file);
  }
  for (const m of sql.matchAll(/^drop index (?:if exists )?public\.(\w+)/gm)) expected.indexes.delete(m[1] as string);
  for (const m of sql.matchAll(/^create (?:or replace )?function public\.(\w+)\(/gm)) {
    if (!expected.functions.has(m[1] as string)) expected.functions.set(m[1] as string, file);
  }
  for (const m of sql.matchAll(/^drop function (?:if exists )?public\.(\w+)/gm)) {
    expected.functions.delete(m[1] as string);
  }

  // grant/revoke statements, in order: the last word on service_role wins.
  for (const m of sql.matchAll(/^(grant|revoke)\s[^;]*;/gm)) {
    const statement = m[0];
    const granted = m[1] === "grant";
    const roles = statement.match(/\s(?:to|from)\s+([^;]+);$/)?.[1] ?? "";
    if (!/\bservice_role\b/.test(roles)) continue;
    if (/\son function\s/.test(statement)) {
      for (const f of statement.matchAll(/public\.(\w+)\(/g)) expected.serviceRoleExecute.set(f[1] as string, granted);
    }
    const table = statement.match(/^grant ([\w, ]+) on table public\.(\w+)/);
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
