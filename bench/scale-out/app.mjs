// One app instance of the scale-out load test (bench/scale-out/run.mjs): Express with
// express-session and this store on a pg pool of its own, as one container or serverless
// instance of a user's app would run it.
//
//   env: DATABASE_URL (direct or the pooler's), POOL_MAX, SESSION_SECRET
//
// POST /hit counts a hit in the session (a modified session: a `set`); GET /count answers
// the session's count (a `get`). Prints "listening on <url>" once ready.
import express from "express";
import session from "express-session";
import pg from "pg";
import { SupabaseSessionStore } from "../../dist/esm/index.js";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX) });
pool.on("error", () => {}); // an idle connection the database drops: the next query reconnects
const store = new SupabaseSessionStore({ pool });

const app = express();
app.use(session({
  store,
  secret: process.env.SESSION_SECRET,
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 3_600_000 },
}));
app.post("/hit", (req, res) => {
  req.session.count = (req.session.count ?? 0) + 1;
  res.json({ count: req.session.count });
});
app.get("/count", (req, res) => res.json({ count: req.session.count ?? 0 }));
// A failed store call reaches here: a failed request, counted by the load generator.
app.use((err, _req, res, _next) => res.status(500).json({ error: err.code ?? err.message }));

const server = app.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
// Longer than the load generator's keep-alive (fetch: 4 s): otherwise, on a loaded machine, the server
// closes an idle connection just as the client reuses it, and the request fails before reaching the app.
server.keepAliveTimeout = 65_000;
process.on("SIGTERM", () => {
  server.close(() => pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
});
