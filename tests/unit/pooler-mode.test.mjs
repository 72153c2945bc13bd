// Transaction-pooler detection (src/pooler-mode.ts) and what the options make of it: a
// connection string or pool that goes through Supavisor's port 6543 or says pgbouncer=true
// gets unnamed statements with no setting, and an explicit preparedStatements: true there
// is refused with the reason.
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { transactionPoolerInUrl, transactionPoolerOfPool } from "../../dist/esm/pooler-mode.js";
import { parseStoreOptions } from "../../dist/esm/store-options.js";

const SUPAVISOR_TRANSACTION =
  "postgresql://postgres.abcdefghijklmnop:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres";
const SUPAVISOR_SESSION =
  "postgresql://postgres.abcdefghijklmnop:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres";
const DIRECT = "postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres";
const LOCAL_POOLER = "postgresql://postgres:postgres@127.0.0.1:54329/postgres?pgbouncer=true";

test("a connection string names a transaction pooler by port 6543 or pgbouncer=true, and nothing else does", () => {
  assert.match(transactionPoolerInUrl(SUPAVISOR_TRANSACTION), /port 6543/);
  assert.match(transactionPoolerInUrl(LOCAL_POOLER), /pgbouncer=true/);
  assert.match(transactionPoolerInUrl("postgres://u@h:6543/db?sslmode=require"), /port 6543/);
  for (const url of [SUPAVISOR_SESSION, DIRECT, "postgresql://u@h/db", "postgresql://u@h:5432/db?pgbouncer=false"]) {
    assert.equal(transactionPoolerInUrl(url), null, url);
  }
  assert.equal(transactionPoolerInUrl("host=h port=5432"), null, "a keyword/value string says nothing");
  assert.equal(transactionPoolerInUrl("http://h:6543/"), null, "only postgres URLs count");
});

test("the evidence never repeats the connection string (it holds the password)", () => {
  assert.doesNotMatch(transactionPoolerInUrl(SUPAVISOR_TRANSACTION), /pw|abcdefghijklmnop/);
});

test("a pool's configuration is read where node-postgres and pg-promise keep it", async () => {
  const pool = new pg.Pool({ connectionString: SUPAVISOR_TRANSACTION });
  assert.match(transactionPoolerOfPool(pool), /port 6543/);
  await pool.end();
  const byPort = new pg.Pool({ host: "127.0.0.1", port: 6543 });
  assert.match(transactionPoolerOfPool(byPort), /port 6543 .* pool's configuration/);
  await byPort.end();
  assert.match(transactionPoolerOfPool(new pg.Client({ connectionString: SUPAVISOR_TRANSACTION })), /port 6543/);
  // A pg.Client keeps only the parsed parameters, without pgbouncer=true: transactionPooler says it then.
  assert.equal(transactionPoolerOfPool(new pg.Client({ connectionString: LOCAL_POOLER })), null);
  assert.match(transactionPoolerOfPool({ query() {}, $cn: LOCAL_POOLER }), /pgbouncer=true/);
  const direct = new pg.Pool({ connectionString: DIRECT });
  assert.equal(transactionPoolerOfPool(direct), null);
  await direct.end();
  assert.equal(transactionPoolerOfPool({ query() {} }), null, "a bare query() object says nothing");
});

test("through a transaction pooler the store sends unnamed statements with no setting", () => {
  for (
    const options of [
      { connectionString: SUPAVISOR_TRANSACTION },
      { connectionString: LOCAL_POOLER },
      { pool: { query() {}, options: { connectionString: SUPAVISOR_TRANSACTION } } },
      { pool: { query() {} }, transactionPooler: true },
      { connectionString: SUPAVISOR_TRANSACTION, preparedStatements: false },
    ]
  ) {
    const settings = parseStoreOptions(options);
    assert.equal(settings.transactionPooler, true);
    assert.equal(settings.preparedStatements, false);
  }
});

test("direct connections and session mode keep named statements by default", () => {
  for (
    const options of [
      { connectionString: DIRECT },
      { connectionString: SUPAVISOR_SESSION },
      { pool: { query() {} } },
      { connectionString: SUPAVISOR_TRANSACTION, transactionPooler: false },
      { client: { rpc() {} } },
    ]
  ) {
    const settings = parseStoreOptions(options);
    assert.equal(settings.transactionPooler, false);
    assert.equal(settings.preparedStatements, true);
  }
});

test("preparedStatements: true through a transaction pooler is refused, saying why", () => {
  assert.throws(() => parseStoreOptions({ connectionString: SUPAVISOR_TRANSACTION, preparedStatements: true }), {
    name: "TypeError",
    message: /^preparedStatements: true cannot work through a transaction pooler \(port 6543 .*\): .*does not exist/,
  });
  assert.throws(
    () => parseStoreOptions({ pool: { query() {} }, transactionPooler: true, preparedStatements: true }),
    /cannot work through a transaction pooler \(transactionPooler: true\)/,
  );
  assert.throws(
    () => parseStoreOptions({ connectionString: SUPAVISOR_TRANSACTION, preparedStatements: true }),
    (err) => !/pw|abcdefghijklmnop/.test(err.message),
    "the refusal does not repeat the connection string",
  );
});

test("transactionPooler is a boolean, and only for the pg backends", () => {
  assert.throws(() => parseStoreOptions({ connectionString: DIRECT, transactionPooler: "yes" }), {
    name: "TypeError",
    message: "transactionPooler must be a boolean",
  });
  assert.throws(() => parseStoreOptions({ client: { rpc() {} }, transactionPooler: true }), /pg backends/);
  assert.throws(() => parseStoreOptions({ connectionString: DIRECT, preparedStatements: 1 }), /must be a boolean/);
});
