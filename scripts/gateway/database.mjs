// The database side of a request, as PostgREST runs it: a pool logged in as
// `authenticator`, one transaction per request that `set local role`s to the request's
// role with that role's settings and the request.* settings, and the function call
// itself, its result as JSON text.
import pg from "pg";
import { connectionError, databaseError } from "./errors.mjs";

/** A pool of `authenticator` connections to `databaseUrl`'s database. */
export function authenticatorPool(databaseUrl) {
  // PostgREST logs in as `authenticator` and only ever switches to the API roles; the
  // login role's settings (statement_timeout 8 s) hold for service_role, which has none.
  const authenticatorUrl = new URL(databaseUrl);
  authenticatorUrl.username = "authenticator";
  authenticatorUrl.password = "";
  const pool = new pg.Pool({
    connectionString: authenticatorUrl.toString(),
    max: 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 10000,
    application_name: "supabase-session-store gateway",
  });
  // An idle connection dies when the database restarts; the pool drops it and the
  // next request gets a fresh one. Without a listener the error would crash the process.
  pool.on("error", () => {});
  // The pool listens only to idle clients: a connection terminated while checked out
  // (pg_terminate_backend, a restart) emits 'error' on its client, which would crash the
  // process. The failing query already rejects with that error; release(true) drops it.
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

/**
 * The query that calls `fn` with the given named arguments, passed as one JSON bind
 * parameter typed by the catalog, and returns its result as JSON text plus a row count.
 */
export function callQuery(fn, args, stripNulls, maxRows) {
  const ident = pg.escapeIdentifier;
  const inputs = fn.inputs.filter((input) => Object.hasOwn(args, input.name));
  const call = `${ident(fn.schema)}.${ident(fn.name)}(${
    inputs.map((i) => `${ident(i.name)} => _args.${ident(i.name)}`).join(", ")
  })`;
  const from = inputs.length
    ? `pg_catalog.json_to_record($1::json) as _args(${
      inputs.map((i) => `${ident(i.name)} ${i.type}`).join(", ")
    }), ${call} as _r`
    : `${call} as _r`;
  const [json, rows] = fn.returnsSet
    ? ["coalesce(pg_catalog.json_agg(_r), '[]')", "pg_catalog.count(*)::int"]
    : ["pg_catalog.to_json(_r)", "1"];
  const body = stripNulls ? `pg_catalog.json_strip_nulls(${json})` : json;
  // db-max-rows: PostgREST's LIMIT on the rows the function returns, in the function's order.
  const source = fn.returnsSet && maxRows > 0 ? `(select _r from ${from} limit ${maxRows}) as _s(_r)` : from;
  return {
    text: `select ${fn.returnsVoid ? "null" : `(${body})::text`} as body, ${rows} as rows from ${source}`,
    values: inputs.length ? [JSON.stringify(args)] : [],
  };
}

/** Runs `query` in one transaction as the request's role; its first row, or PostgREST's error. */
export async function inTransaction(pool, { role, claims, method, requestPath, readOnly, settings }, query) {
  let client;
  try {
    client = await pool.connect();
  } catch (err) {
    throw connectionError(err);
  }
  let broken = false;
  try {
    await client.query(`begin${readOnly ? " read only" : ""}; set local role ${pg.escapeIdentifier(role)}`);
    await client.query(
      `select pg_catalog.set_config('request.jwt.claims', $1, true),
              pg_catalog.set_config('request.method', $2, true),
              pg_catalog.set_config('request.path', $3, true),
              (select pg_catalog.count(pg_catalog.set_config(k, v, true)) from unnest($4::text[], $5::text[]) as s(k, v))`,
      [JSON.stringify(claims), method, requestPath, [...settings.keys()], [...settings.values()]],
    );
    const result = await client.query(query);
    await client.query("commit");
    return result.rows[0];
  } catch (err) {
    broken = !(err instanceof pg.DatabaseError);
    if (!broken) {
      await client.query("rollback").catch(() => {
        broken = true;
      });
    }
    throw databaseError(err, role);
  } finally {
    client.release(broken);
  }
}
