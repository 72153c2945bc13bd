// The counter app as its own process, as a deployment runs it, on the backend FAULT_BACKEND
// names (pg: a connection string, the store's own pool; supabase-js: the service role key).
// Announces "listening on <url>"; store errors nobody else sees go to stderr.
import { SupabaseSessionStore } from "../../../dist/esm/index.js";
import { supabaseClient } from "./backends.mjs";
import { requireEnv } from "./env.mjs";
import { createCounterApp } from "./counter-app.mjs";

const backend = process.env.FAULT_BACKEND;
let store;
if (backend === "pg") {
  store = new SupabaseSessionStore({ connectionString: requireEnv("DATABASE_URL").DATABASE_URL });
} else if (backend === "supabase-js") {
  const { SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY } = requireEnv("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
  store = new SupabaseSessionStore({ client: supabaseClient(SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY) });
} else {
  throw new Error(`FAULT_BACKEND must be pg or supabase-js, got ${backend}`);
}
store.on("error", (err) => process.stderr.write(`store error: ${err.message}\n`));
store.on("disconnect", () => process.stdout.write("store disconnect\n"));
store.on("connect", () => process.stdout.write("store connect\n"));

const server = createCounterApp(store).listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
