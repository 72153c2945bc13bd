// A minimal Express 5 + express-session app for fault tests: every GET /count adds one
// to the session's counter and answers only once the store acknowledged the write, so
// a 200 is an acknowledged write. Runs in-process, or as its own process (main below).
import express from "express";
import session from "express-session";

export function createCounterApp(store) {
  const app = express();
  app.use(session({
    store,
    secret: "fault-test-secret-not-for-production",
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 3_600_000, httpOnly: true },
  }));
  app.get("/count", (req, res, next) => {
    // express-session's disconnect contract: the store is down, the request has no session.
    if (!req.session) return res.status(503).json({ error: "session store unavailable" });
    req.session.n = (req.session.n ?? 0) + 1;
    req.session.save((err) => (err ? next(err) : res.json({ n: req.session.n })));
  });
  app.use((err, _req, res, _next) => {
    // express-session touches the store after the response is written and reports a
    // failed touch here: answering again (or Express's default) would destroy the socket.
    if (res.headersSent) return;
    res.status(500).json({ error: err.code ?? err.name ?? "error" });
  });
  return app;
}
