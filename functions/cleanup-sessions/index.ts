// cleanup-sessions: deletes expired express-session rows in bounded batches.
// Called hourly by pg_cron through pg_net, and on demand by operators:
//   curl -X POST "$SUPABASE_URL/functions/v1/cleanup-sessions" -H "apikey: $SUPABASE_SECRET_KEY"
import { handle } from "./handler.ts";

Deno.serve((req) => handle(req, { env: (name) => Deno.env.get(name) }));
