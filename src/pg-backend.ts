import { createHash } from "node:crypto";
import type { Args, Backend, SessionFunction } from "./backend.js";
import { JsonArg } from "./backend.js";

/**
 * What the store needs of a `pg.Pool` (or `pg.Client`, or another client): `query` called
 * as `query({ name, text, values })` (named prepared statements, the default) or
 * `query(text, values)` (`preparedStatements: false`), with `$1`-style parameters sent
 * as bind values, resolving with node-postgres's `{ rows }` or with the array of rows
 * itself (pg-promise's `db.query`, and others).
 */
export interface Queryable {
  query(
    textOrConfig: string | { text: string; values?: unknown[]; name?: string },
    values?: unknown[],
  ): Promise<{ rows: unknown[] } | unknown[]>;
}

interface OwnedPool extends Queryable {
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
}

interface Statement {
  text: string;
  name: string;
}

type PoolSource = { pool: Queryable } | { connectionString: string; onIdleError: (err: Error) => void };

/** Calls the session functions with node-postgres: `select ... from "<schema>".<fn>($1, ...)`. */
export class PgBackend implements Backend {
  readonly #schema: string;
  readonly #prepared: boolean;
  readonly #statements = new Map<string, Statement>();
  /** The pool, or until it exists (connectionString) the promise of it. */
  #pool: Queryable | Promise<Queryable>;
  #owned: Promise<OwnedPool> | undefined;

  constructor(source: PoolSource, schema: string, preparedStatements: boolean) {
    this.#schema = schema;
    this.#prepared = preparedStatements;
    if ("pool" in source) {
      this.#pool = source.pool;
    } else {
      // Created on first use so that `pg` stays an optional peer dependency.
      this.#owned = createPool(source.connectionString, source.onIdleError);
      this.#pool = this.#owned;
    }
  }

  // Plain promise chains rather than async functions on this path: every operation takes
  // it, and each async layer costs its own promise jobs (a C = 1 profile).
  rows(fn: SessionFunction, args: Args): Promise<Record<string, unknown>[]> {
    return this.#query(fn, args, "rows") as Promise<Record<string, unknown>[]>;
  }

  scalar(fn: SessionFunction, args: Args): Promise<unknown> {
    return this.#query(fn, args, "scalar").then((rows) => (rows[0] as { value?: unknown } | undefined)?.value ?? null);
  }

  async close(): Promise<void> {
    const owned = this.#owned;
    this.#owned = undefined;
    if (owned) await (await owned).end();
  }

  #query(fn: SessionFunction, args: Args, shape: "rows" | "scalar"): Promise<unknown[]> {
    const values: unknown[] = [];
    for (const key in args) {
      const value = args[key];
      values.push(value instanceof JsonArg ? value.text : value);
    }
    const statement = this.#statement(fn, values.length, shape);
    const pool = this.#pool;
    if (!(pool instanceof Promise)) return this.#send(pool, statement, values);
    return pool.then((created) => {
      this.#pool = created;
      return this.#send(created, statement, values);
    });
  }

  #send(pool: Queryable, { text, name }: Statement, values: unknown[]): Promise<unknown[]> {
    return (this.#prepared
      // Named: parsed and planned once per connection, then only bound and executed.
      ? pool.query({ name, text, values })
      : pool.query(text, values)).then(rowsOf);
  }

  /** The statement calling `fn`, built once per function (this is every request's path). */
  #statement(fn: SessionFunction, arity: number, shape: "rows" | "scalar"): Statement {
    const key = `${fn}/${shape}`;
    let statement = this.#statements.get(key);
    if (!statement) {
      const call = `${quoteIdent(this.#schema)}.${fn}(${
        Array.from({ length: arity }, (_, i) => `$${i + 1}`).join(", ")
      })`;
      const text = shape === "rows" ? `select * from ${call}` : `select ${call} as value`;
      statement = { text, name: statementName(this.#schema, fn) };
      this.#statements.set(key, statement);
    }
    return statement;
  }
}

/**
 * The rows of a query result in either shape the common clients resolve with; anything
 * else is refused with an error saying what came back (never read as "no rows").
 */
export function rowsOf(result: unknown): unknown[] {
  if (Array.isArray(result)) return result;
  const rows = (result as { rows?: unknown } | null)?.rows;
  if (Array.isArray(rows)) return rows;
  const got = result === null ? "null" : typeof result === "object" ? "an object without a rows array" : typeof result;
  throw new TypeError(
    `pool.query() must resolve with { rows: [...] } (node-postgres) or an array of rows (pg-promise); it resolved with ${got}`,
  );
}

// Postgres truncates statement names to this many bytes.
const MAX_STATEMENT_NAME_BYTES = 63;

/**
 * A statement name unique per schema and function. Past 63 bytes Postgres would truncate
 * it, and with a long schema name every function would share one name (42P05); such a
 * schema is named by a hash instead.
 */
function statementName(schema: string, fn: SessionFunction): string {
  const name = `supabase_session_store:${schema}:${fn}`;
  if (Buffer.byteLength(name) <= MAX_STATEMENT_NAME_BYTES) return name;
  return `supabase_session_store:${createHash("sha256").update(schema).digest("hex").slice(0, 16)}:${fn}`;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function createPool(connectionString: string, onIdleError: (err: Error) => void): Promise<OwnedPool> {
  let pg: { Pool?: unknown; default?: { Pool?: unknown } };
  try {
    pg = await import("pg");
  } catch (err) {
    throw new Error("the connectionString option needs the `pg` package: npm install pg", { cause: err });
  }
  const Pool = (pg.Pool ?? pg.default?.Pool) as new (config: { connectionString: string }) => OwnedPool;
  const pool = new Pool({ connectionString });
  // An idle client losing its connection is reported, not thrown: without a listener
  // the pool's 'error' event would crash the process.
  pool.on("error", onIdleError);
  return pool;
}
