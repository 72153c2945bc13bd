// Stores on both backends whose round trips are recorded by SQL function name: a
// supabase-js client whose fetch notes each `/rpc/<fn>` request, and a real pg pool behind
// the structural `query` the store needs, noting each call's function.
import { SupabaseSessionStore } from "../../../dist/esm/index.js";
import { quietPool, supabaseClient } from "./backends.mjs";
import { requireEnv } from "./env.mjs";

const FUNCTION = /(session_[a-z_]+)/;

/** Factories by backend name; each returns { store, calls, close }: `calls` lists each round trip's function. */
export const COUNTING_BACKENDS = {
  pg(options = {}) {
    const { DATABASE_URL } = requireEnv("DATABASE_URL");
    const pool = quietPool({ connectionString: DATABASE_URL, max: 5 });
    const calls = [];
    const counted = {
      query(config, values) {
        calls.push(FUNCTION.exec(typeof config === "string" ? config : config.text)?.[1] ?? "?");
        return pool.query(config, values);
      },
    };
    const store = new SupabaseSessionStore({ pool: counted, ...options });
    return {
      store,
      calls,
      close: async () => {
        await store.close();
        await pool.end();
      },
    };
  },
  "supabase-js"(options = {}) {
    const { SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY } = requireEnv("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
    const calls = [];
    const client = supabaseClient(SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY, (input, init) => {
      calls.push(/\/rpc\/([a-z_]+)/.exec(String(input))?.[1] ?? "?");
      return fetch(input, init);
    });
    const store = new SupabaseSessionStore({ client, ...options });
    return { store, calls, close: () => store.close() };
  },
};

/** The calls among `calls` that write (saves, touches, batches of either). */
export const writesIn = (calls) => calls.filter((fn) => /^session_(save|touch|write)/.test(fn));
