// Scratch databases for tests that need a database of their own beside the stack's (a
// broken deployment, a pre-release install), and scratch clusters for those that need a
// whole new Supabase project (nothing migrated, roles and default privileges as hosted).
import path from "node:path";
import pg from "pg";
import * as db from "../../../scripts/db.mjs";
import { freePort } from "../../../scripts/stack.mjs";

/**
 * `base` naming another database; `password` replaces the password, `forCli` adds the
 * `sslmode=disable` the Supabase CLI needs for a Postgres without TLS.
 */
export function databaseUrl(base, database, { password, forCli = false } = {}) {
  const u = new URL(base);
  u.pathname = `/${database}`;
  if (password !== undefined) u.password = password;
  if (forCli) u.searchParams.set("sslmode", "disable");
  return u.toString();
}

/** An empty database `name`, made through `admin` (a pool on the stack's database); a leftover one is dropped first. */
export async function createDatabase(admin, name) {
  await dropDatabase(admin, name);
  await admin.query(`create database ${name}`);
}

export async function dropDatabase(admin, name) {
  await admin.query(`drop database if exists ${name} with (force)`);
}

/** Runs `fn(client)` with a client connected to `url`, and ends the client afterwards. */
export async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A scratch database `name` for `fn(client, url)`, dropped afterwards; `url(name)` says how to reach it. */
export async function withScratchDatabase(admin, name, url, fn) {
  await createDatabase(admin, name);
  try {
    return await withClient(url(name), (client) => fn(client, url(name)));
  } finally {
    await dropDatabase(admin, name);
  }
}

/**
 * A fresh cluster of its own, bootstrapped as a new Supabase project with nothing migrated,
 * on a free port: { url, cliUrl, destroy() }.
 */
export async function scratchCluster(name) {
  const opts = { dir: path.join(db.root, `.local/${name}-${process.pid}`), port: await freePort(), migrate: false };
  db.start(opts);
  return {
    url: db.dbUrl(opts),
    cliUrl: db.dbUrl(opts, { forCli: true }),
    destroy: () => db.destroy(opts),
  };
}
