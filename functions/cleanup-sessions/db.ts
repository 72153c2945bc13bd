// The database, as the function reaches it: SQL functions called through the
// project's API with supabase-js, authenticated with a secret key (service_role).
// A versioned npm: specifier, as Supabase deploys it, so the function needs no import map.
import { createClient } from "npm:@supabase/supabase-js@2";

/** Calls one SQL function with named arguments and resolves with its result. */
export type Rpc = (fn: string, args?: Record<string, unknown>) => Promise<unknown>;

export class DatabaseError extends Error {
  constructor(
    message: string,
    /** PostgREST's or Postgres's error code, when the API answered with one. */
    readonly code: string | undefined,
    /** The API could not be reached or said the database is unavailable. */
    readonly unavailable: boolean,
  ) {
    super(message);
  }
}

function unreachable(kind: string): string {
  return `the project's API could not be reached (${kind})`;
}

/** Calls go to `schema` (PostgREST's Content-Profile), which the API must expose when it is not `public`. */
export function connect(url: string, key: string, schema = "public"): Rpc {
  const client = createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    db: { schema },
  });
  return async (fn, args) => {
    let result;
    try {
      result = await client.rpc(fn, args);
    } catch (err) {
      throw new DatabaseError(unreachable(err instanceof Error ? err.name : "Error"), undefined, true);
    }
    const { data, error, status } = result;
    // supabase-js reports a network failure as status 0. Its message is the runtime's, and
    // the edge runtime's Deno (2.1) puts the request URL in it: logged as a fixed text instead.
    if (error && status === 0) throw new DatabaseError(unreachable("network error"), undefined, true);
    if (error) throw new DatabaseError(error.message, error.code || undefined, status === 503 || status === 504);
    return data;
  };
}
