#!/usr/bin/env node
// `npm run screenshots`: the example app's sign-in and account pages, and the page that refuses
// sign-in after too many failures (429), as PNGs in docs/screenshots/, for docs/local-stack.md and
// the example's README. A throwaway stack of its own (never the one
// `npm start` uses), the app in this process, and the browser the tests use.
//
// The account page shows alice signed in on four devices. Their times are staged: the
// other three sessions are backdated in the database, so the picture shows what an
// account page looks like after a few days rather than four sessions of "just now".
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { sessionKey } from "../dist/esm/session-key.js";
import { launchBrowser } from "./browser.mjs";
import * as db from "./db.mjs";
import { freePort, startStack } from "./stack.mjs";

const { root } = db;
const dir = path.join(root, ".local/screenshots");
const out = path.join(root, "docs/screenshots");
const VIEWPORT = { width: 960, height: 640, deviceScaleFactor: 2 };
const DESKTOP_CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
// Each other device: its user agent and how long ago it signed in and was last active.
const OTHER_DEVICES = [
  {
    userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
      "Version/18.1 Mobile/15E148 Safari/604.1",
    signedIn: "3 hours",
    active: "12 minutes",
  },
  {
    userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    signedIn: "2 days",
    active: "5 hours",
  },
  { userAgent: "curl/8.5.0", signedIn: "40 minutes", active: "40 minutes" },
];
const ALICE = { username: "alice", password: "alice-demo-password" };

function removeCluster(port) {
  db.destroy({ dir, port });
  fs.rmSync(dir, { recursive: true, force: true });
}

async function signIn(page, { username, password }) {
  await page.goto(appUrl);
  await page.type('input[name="username"]', username);
  await page.type('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/login"] button')]);
}

/** Signs in from a browser context with this user agent and backdates the session it got. */
async function otherDevice(client, { userAgent, signedIn, active }) {
  const page = await browser.device({ userAgent });
  await signIn(page, ALICE);
  const sid = decodeURIComponent((await page.browserContext().cookies()).find((c) => c.name === "sid").value)
    .slice(2).split(".")[0];
  await client.query("begin");
  // updated_at is the trigger's to set on every update: off for this one staged write.
  await client.query("alter table public.sessions disable trigger sessions_set_updated_at");
  await client.query(
    `update public.sessions set
      created_at = now() - $2::interval,
      updated_at = now() - $3::interval,
      expires_at = now() - $3::interval + interval '24 hours',
      data = jsonb_set(data, '{device,signedInAt}', to_jsonb(to_char((now() - $2::interval) at time zone 'UTC',
        'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
    where sid = $1`,
    [sessionKey(sid), signedIn, active],
  );
  await client.query("alter table public.sessions enable trigger sessions_set_updated_at");
  await client.query("commit");
  await page.browserContext().close();
}

let browser;
let appUrl;
const dbPort = await freePort();
const stops = [];
try {
  const built = spawnSync(process.execPath, [path.join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) throw new Error("npm run build failed");
  const { SupabaseSessionStore } = await import("../dist/esm/index.js");
  const { createApp } = await import("../examples/express-passport/app.mjs");
  const { createUserDirectory, DEMO_USERS } = await import("../examples/express-passport/users.mjs");

  removeCluster(dbPort);
  const stack = await startStack({ dir, dbPort, apiPort: await freePort(), functions: false });
  stops.push(() => stack.stop(), () => removeCluster(dbPort));
  const store = new SupabaseSessionStore({ connectionString: stack.env.DATABASE_URL });
  stops.push(() => store.close());
  const app = createApp({ store, users: await createUserDirectory(DEMO_USERS), log: () => {} });
  const server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  stops.push(() => new Promise((resolve) => server.close(resolve)));
  appUrl = `http://127.0.0.1:${server.address().port}`;

  browser = await launchBrowser();
  stops.push(() => browser.close());
  fs.mkdirSync(out, { recursive: true });

  const client = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await client.connect();
  stops.push(() => client.end());
  for (const device of OTHER_DEVICES) await otherDevice(client, device);

  const laptop = await browser.device({ userAgent: DESKTOP_CHROME, viewport: VIEWPORT });
  await laptop.goto(appUrl);
  await laptop.screenshot({ path: path.join(out, "login.png") });
  await laptop.type('input[name="username"]', ALICE.username);
  await laptop.type('input[name="password"]', ALICE.password);
  await Promise.all([laptop.waitForNavigation(), laptop.click('form[action="/login"] button')]);
  await laptop.screenshot({ path: path.join(out, "account.png"), fullPage: true });

  // Another device guessing bob's password: the sign-in limits (5 failures per account) refuse the next try.
  const guesser = await browser.device({ userAgent: DESKTOP_CHROME, viewport: VIEWPORT });
  let status;
  for (let attempt = 1; attempt <= 6; attempt++) {
    await guesser.goto(appUrl);
    await guesser.type('input[name="username"]', "bob");
    await guesser.type('input[name="password"]', `not-bobs-password-${attempt}`);
    [status] = await Promise.all([
      guesser.waitForNavigation().then((res) => res.status()),
      guesser.click('form[action="/login"] button'),
    ]);
  }
  if (status !== 429) throw new Error(`the sixth failed sign-in was answered ${status}, not 429`);
  await guesser.screenshot({ path: path.join(out, "too-many-attempts.png") });

  for (const name of ["login.png", "account.png", "too-many-attempts.png"]) {
    console.log(`wrote ${path.relative(root, path.join(out, name))}`);
  }
} finally {
  for (const stop of stops.reverse()) await stop();
}
