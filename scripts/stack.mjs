// The whole local stack, laid out as `supabase start` lays it out, without Docker:
// the Postgres of scripts/db.mjs with its transaction pooler (Supavisor's port 6543
// stand-in, scripts/pooler.mjs), the PostgREST-compatible gateway on one API URL
// (`/rest/v1`), and the cleanup-sessions Edge Function served by Deno behind it
// (`/functions/v1`). Used by `npm start`, `npm test` and `npm run bench` alike.
import * as db from "./db.mjs";
import { DEFAULT_BODY_LIMIT, DEFAULT_MAX_ROWS, limitFromEnv, startGateway } from "./gateway/index.mjs";
import { localKeys } from "./keys.mjs";
import { freePort } from "./processes.mjs";
import { startFunctions } from "./serve-functions.mjs";

export { freePort };

/**
 * Starts (or reuses) the database and its pooler (on `poolerPort`, by default a free
 * port), then the gateway and the function server.
 * Returns the environment a client of the stack needs and a `stop()` that stops
 * only what this call started. Hosted Supabase's limits are on unless the environment
 * (API_MAX_ROWS, API_BODY_LIMIT, LOCAL_DB_DEFAULT_PRIVILEGES) or the options say otherwise.
 */
export async function startStack(
  { dir, dbPort, apiPort, poolerPort, functions = true, privileges, env = process.env } = {},
) {
  const dbOpts = {
    ...db.defaults(env),
    ...(dir && { dir }),
    ...(dbPort && { port: dbPort }),
    ...(privileges && { privileges }),
  };
  const maxRows = limitFromEnv(env, "API_MAX_ROWS", DEFAULT_MAX_ROWS);
  const bodyLimit = limitFromEnv(env, "API_BODY_LIMIT", DEFAULT_BODY_LIMIT);
  // What can fail before anything runs comes first: a failure later stops what was started.
  const keys = localKeys();
  const port = apiPort || (await freePort());
  dbOpts.poolerPort = poolerPort || (await freePort());
  const database = db.start(dbOpts);
  const apiUrl = `http://127.0.0.1:${port}`;

  const stops = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
    stops.length = 0;
  };
  if (database.started) stops.push(() => db.stop(dbOpts));
  else if (database.pooler.started) stops.push(() => db.stopPooler(dbOpts));
  try {
    let functionsUrl;
    if (functions) {
      const fn = await startFunctions({
        env: {
          SUPABASE_URL: apiUrl,
          SUPABASE_DB_URL: database.url,
          SUPABASE_ANON_KEY: keys.anonKey,
          SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
          SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishableKey }),
          SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
        },
      });
      stops.push(() => fn.close());
      functionsUrl = fn.url;
    }
    const gateway = await startGateway({ databaseUrl: database.url, port, keys, functionsUrl, maxRows, bodyLimit });
    stops.push(() => gateway.close());
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    stop,
    env: {
      DATABASE_URL: database.url,
      DATABASE_POOLER_URL: database.pooler.url,
      SUPABASE_URL: apiUrl,
      SUPABASE_ANON_KEY: keys.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
      SUPABASE_PUBLISHABLE_KEY: keys.publishableKey,
      SUPABASE_SECRET_KEY: keys.secretKey,
      LOCAL_DB_DIR: dbOpts.dir,
      LOCAL_DB_PORT: String(dbOpts.port),
      LOCAL_DB_POOLER_PORT: String(database.pooler.port),
      LOCAL_DB_DEFAULT_PRIVILEGES: dbOpts.privileges,
      API_MAX_ROWS: String(maxRows),
      API_BODY_LIMIT: String(bodyLimit),
    },
  };
}
