// `npm start` as a user runs it: `node scripts/start.mjs` in its own folder and on
// its own ports (so the test stack is never disturbed), driven over HTTP, stopped
// with Ctrl-C (SIGINT), started again on the same data, stopped with SIGTERM.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import * as db from "../../scripts/db.mjs";
import { freePort } from "../../scripts/stack.mjs";
import { userShellEnv } from "./support/env.mjs";
import { CookieJar, request } from "./support/http.mjs";
import { keyOf } from "./support/keys.mjs";
import { descendants, isAlive, startProcess } from "./support/processes.mjs";

const { root } = db;
const LOCAL_DB_DIR = ".local/npm-start-test";
const dir = path.join(root, LOCAL_DB_DIR);
const START_TIMEOUT_MS = 240_000;

let ports;
let run;

async function npmStart() {
  const inherited = userShellEnv();
  const proc = startProcess(process.execPath, [path.join(root, "scripts/start.mjs")], {
    cwd: root,
    env: {
      ...inherited,
      LOCAL_DB_DIR,
      LOCAL_DB_PORT: String(ports.db),
      LOCAL_DB_POOLER_PORT: String(ports.pooler),
      API_PORT: String(ports.api),
      PORT: String(ports.app),
    },
    ready:
      /^Ready\.[\s\S]*?Example app\s+(http:\/\/\S+)[\s\S]*?API\s+(http:\/\/\S+)[\s\S]*?Pooler\s+(\S+)[\s\S]*?Keys\s+(\S+)[\s\S]*?Ctrl-C/m,
    timeoutMs: START_TIMEOUT_MS,
  });
  const [, appUrl, apiUrl, poolerUrl, envFile] = await proc.match;
  return { proc, appUrl, apiUrl, poolerUrl, envFile: path.resolve(root, envFile) };
}

/** Stops `npm start` with `signal`; asserts it exits 0 leaving no process and no listening port behind. */
async function stopAndCheckNothingLeft(signal) {
  const children = descendants(run.proc.child.pid);
  assert.ok(children.length > 0, "npm start runs child processes (the app, the function server)");
  const { code } = await run.proc.stop(signal);
  assert.equal(code, 0, `npm start exits 0 on ${signal}:\n${run.proc.output()}`);
  const alive = children.filter(isAlive);
  assert.deepEqual(alive, [], `no child process outlives npm start (${signal})`);
  for (const [name, port] of Object.entries(ports)) {
    assert.equal(await accepts(port), false, `nothing listens on the ${name} port ${port} any more`);
  }
  assert.equal(db.isRunning({ dir, port: ports.db }), false, "the database npm start started is stopped");
  assert.equal(fs.existsSync(run.envFile), false, "the keys file of a stopped stack is removed");
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function readEnvFile(file) {
  return Object.fromEntries(
    fs.readFileSync(file, "utf8").split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

function removeCluster() {
  db.destroy({ dir, port: ports.db });
  fs.rmSync(dir, { recursive: true, force: true });
}

before(async () => {
  ports = { db: await freePort(), pooler: await freePort(), api: await freePort(), app: await freePort() };
  removeCluster();
});
after(async () => {
  await run?.proc.stop("SIGKILL");
  removeCluster();
});

/** Runs `fn(server)` with a net.Server holding 127.0.0.1:`port`, as another program would. */
async function occupying(port, fn) {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  try {
    return await fn();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("a port in use is named, with what the server that could not bind said", () => {
  test("npm start with the app's port taken stops at once: exit 1, the port and its variable in a sentence", async () => {
    await occupying(ports.app, () => {
      const res = spawnSync(process.execPath, [path.join(root, "scripts/start.mjs")], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
        env: {
          ...userShellEnv(),
          LOCAL_DB_DIR,
          LOCAL_DB_PORT: String(ports.db),
          LOCAL_DB_POOLER_PORT: String(ports.pooler),
          API_PORT: String(ports.api),
          PORT: String(ports.app),
        },
      });
      assert.equal(res.status, 1, `${res.stdout}${res.stderr}`);
      assert.equal(
        res.stderr.trim().split("\n").at(-1),
        `npm start failed: port ${ports.app} (PORT) is in use by another process: stop it, or start with PORT=<a free port>`,
      );
      assert.equal(db.isRunning({ dir, port: ports.db }), false, "nothing was started");
    });
  });

  test("Postgres, then PgBouncer, on a port in use: the error carries their own log lines naming it", async () => {
    const scratch = { dir: path.join(root, ".local/npm-start-test-port"), port: await freePort() };
    try {
      await occupying(scratch.port, () => {
        assert.throws(() => db.start({ ...scratch, migrate: false }), (err) => {
          assert.match(err.message, new RegExp(`^PostgreSQL did not start on 127\\.0\\.0\\.1:${scratch.port}; `));
          assert.match(err.message, /could not bind IPv4 address "127\.0\.0\.1": Address already in use/);
          assert.match(err.message, new RegExp(`Is another postmaster already running on port ${scratch.port}\\?`));
          return true;
        });
      });
      const poolerPort = await freePort();
      await occupying(poolerPort, () => {
        assert.throws(() => db.start({ ...scratch, poolerPort, migrate: false }), (err) => {
          assert.match(
            err.message,
            new RegExp(`^the pooler \\(PgBouncer\\) exited before it listened on port ${poolerPort}; `),
          );
          assert.match(
            err.message,
            new RegExp(`cannot listen on 127\\.0\\.0\\.1:${poolerPort}: bind\\(\\): Address already in use`),
          );
          return true;
        });
      });
      assert.equal(db.isRunning(scratch), false, "the server the failed start started is stopped again");
    } finally {
      db.destroy(scratch);
      fs.rmSync(scratch.dir, { recursive: true, force: true });
    }
  });
});

describe("npm start", { timeout: 2 * START_TIMEOUT_MS }, () => {
  const jar = new CookieJar();

  test("brings up the database, the API and the example app, then says what to try next", async () => {
    run = await npmStart();
    const out = run.proc.output();
    assert.equal(run.appUrl, `http://127.0.0.1:${ports.app}`);
    // The stack's own readiness probe of the function is no refusal the function logs.
    assert.doesNotMatch(out, /"status":401|"reason":"no key"|"level":"warn"/);
    // supabase db push's lines in the order it printed them: what it applied, then that it finished.
    const applied = [...out.matchAll(/^\[db\] Applying migration (\S+)/gm)];
    assert.ok(applied.length >= 5, out);
    assert.ok(out.indexOf("[db] Finished supabase db push.") > applied.at(-1).index, `"Finished" comes last:\n${out}`);
    assert.equal(run.apiUrl, `http://127.0.0.1:${ports.api}`);
    const pooled = new pg.Client({ connectionString: run.poolerUrl });
    await pooled.connect();
    try {
      const { rows } = await pooled.query("select inet_server_port() as port");
      assert.equal(rows[0].port, ports.db, "the printed pooler URL reaches the stack's database through the pooler");
    } finally {
      await pooled.end();
    }
    assert.match(out, /curl -c cookies\.txt .*\n.*\/login/);
    assert.match(out, /npm run purge/);
    assert.match(out, /select count\(\*\) from sessions where expires_at > now\(\);/);
    assert.equal(fs.statSync(run.envFile).mode & 0o077, 0, "the keys file is private to its owner");
    const health = await request(run.appUrl, "/healthz");
    assert.equal(health.status, 200);
    const page = await fetch(run.appUrl, { headers: { accept: "text/html" } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /text\/html/);
    assert.match(
      await page.text(),
      /<form[^>]*action="\/login"[\s\S]*name="username"[\s\S]*name="password"/,
      "the app's start page is the sign-in form",
    );
  });

  test("log in over HTTP; the session is stored in the stack's database", async () => {
    const res = await request(run.appUrl, "/login", {
      method: "POST",
      jar,
      body: { username: "alice", password: "alice-demo-password" },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal((await request(run.appUrl, "/me", { jar })).json.user.username, "alice");
  });

  test("purge through the function URL deletes expired sessions and keeps live ones", async () => {
    const stack = readEnvFile(run.envFile);
    assert.equal(stack.SUPABASE_URL, run.apiUrl);
    const client = new pg.Client({ connectionString: stack.DATABASE_URL });
    await client.connect();
    try {
      await client.query(
        "insert into public.sessions (sid, data, expires_at) values ($1, '{}', now() - interval '1 minute')",
        [keyOf("npm-start-test-expired")],
      );
      const res = await fetch(`${run.apiUrl}/functions/v1/cleanup-sessions`, {
        method: "POST",
        headers: { apikey: stack.SUPABASE_SECRET_KEY },
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.match(res.headers.get("content-type"), /application\/json/);
      const body = await res.json();
      assert.ok(body.deleted >= 1, `the function reports what it deleted: ${JSON.stringify(body)}`);
      const { rows } = await client.query(
        "select count(*)::int as n from public.sessions where sid = $1",
        [keyOf("npm-start-test-expired")],
      );
      assert.equal(rows[0].n, 0);
    } finally {
      await client.end();
    }
    assert.equal((await request(run.appUrl, "/me", { jar })).status, 200, "the live session is untouched");
  });

  test("the printed database URL, as in stack.env, works with supabase db push and psql as it is", () => {
    const stack = readEnvFile(run.envFile);
    assert.ok(run.proc.output().includes(`Database     ${stack.DATABASE_URL}\n`), "it is the URL printed");
    assert.match(stack.DATABASE_URL, /[?&]sslmode=disable\b/);
    const push = spawnSync(
      path.join(root, "node_modules/.bin/supabase"),
      ["db", "push", "--db-url", stack.DATABASE_URL, "--yes"],
      { cwd: root, encoding: "utf8" },
    );
    assert.equal(push.status, 0, `${push.stdout}${push.stderr}`);
    assert.match(`${push.stdout}${push.stderr}`, /Remote database is up to date/);
    const psql = execFileSync("psql", [stack.DATABASE_URL, "-Atc", "select 1"], { encoding: "utf8" });
    assert.equal(psql.trim(), "1");
  });

  test("Ctrl-C (SIGINT) stops the app and the stack: exit 0, no process left, ports closed", async () => {
    await stopAndCheckNothingLeft("SIGINT");
  });

  test("a second npm start reuses the data: the session from the first run is still valid", async () => {
    run = await npmStart();
    const me = await request(run.appUrl, "/me", { jar });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.username, "alice");
  });

  test("the curl lines npm start prints work as printed: log in, /me, log out everywhere", async () => {
    // Continuation lines joined, as the shell joins them.
    const printed = run.proc.output().replace(/\\\n\s*/g, " ").match(/^ {2}curl .*$/gm);
    assert.equal(printed?.length, 4, `four curl lines, three of them for the app:\n${run.proc.output()}`);
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "npm-start-curl-"));
    try {
      const outputs = printed.filter((line) => line.includes(run.appUrl)).map((line) =>
        execFileSync("bash", ["-c", line.replace(/#.*$/, "")], { cwd: folder, encoding: "utf8" })
      );
      assert.equal(JSON.parse(outputs[0]).user.username, "alice", outputs[0]);
      assert.equal(JSON.parse(outputs[1]).user.username, "alice", outputs[1]);
      const ended = JSON.parse(outputs[2]);
      assert.equal(ended.loggedOut, true, outputs[2]);
      assert.ok(ended.sessions >= 2, `the curl session and the test's own: ${outputs[2]}`);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
    assert.equal(
      (await request(run.appUrl, "/me", { jar })).status,
      401,
      "log out everywhere ended the test's session too",
    );
  });

  test("SIGTERM stops it like Ctrl-C", async () => {
    await stopAndCheckNothingLeft("SIGTERM");
  });
});
