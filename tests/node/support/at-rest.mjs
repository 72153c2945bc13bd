// What a reader of the database sees: the server's statement log and a pg_dump of the
// sessions table, for tests that show neither holds a session id.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as db from "../../../scripts/db.mjs";
import { quietPool } from "./backends.mjs";
import { requireEnv } from "./env.mjs";

/**
 * Runs `fn` with Postgres logging every statement, with its parameters, of every new
 * connection to the database (log_statement = 'all', set as the stack's bootstrap superuser,
 * the only role that may), and resolves with what the server log gained meanwhile.
 */
export async function statementLogDuring(fn) {
  const env = requireEnv("LOCAL_DB_DIR", "LOCAL_DB_PORT");
  const logFile = path.join(env.LOCAL_DB_DIR, "postgres.log");
  const superuser = quietPool({
    connectionString: db.dbUrl({ port: Number(env.LOCAL_DB_PORT) }, { user: db.ADMIN_ROLE }),
    max: 1,
  });
  const from = fs.statSync(logFile).size;
  try {
    await superuser.query("alter database postgres set log_statement = 'all'");
    await fn();
  } finally {
    await superuser.query("alter database postgres reset log_statement");
    await superuser.end();
  }
  // The server writes its log as it goes; give the last lines a moment.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const length = fs.statSync(logFile).size - from;
  const buffer = Buffer.alloc(length);
  const fd = fs.openSync(logFile, "r");
  try {
    fs.readSync(fd, buffer, 0, length, from);
  } finally {
    fs.closeSync(fd);
  }
  return buffer.toString("utf8");
}

/** `pg_dump --data-only` of the sessions table, as text. */
export function dumpSessionsTable() {
  const { DATABASE_URL } = requireEnv("DATABASE_URL");
  const pgDump = path.join(db.pgBinDir().bin, "pg_dump");
  return new Promise((resolve, reject) =>
    execFile(
      pgDump,
      ["--data-only", "--table=public.sessions", DATABASE_URL],
      { maxBuffer: 512 * 1024 * 1024 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    )
  );
}
