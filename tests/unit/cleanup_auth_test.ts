// The function's auth module (functions/cleanup-sessions/auth.ts): which keys are
// accepted, which the caller presents, and the comparison. The environment is a plain
// function, as the handler is given one.
import assert from "node:assert/strict";
import { acceptedKeys, isAuthorized, presentedKeys, serviceKeys } from "../../functions/cleanup-sessions/auth.ts";
import { Refusal } from "../../functions/cleanup-sessions/refusal.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("service keys: SUPABASE_SECRET_KEYS's values, `default` first, then the legacy service role key", () => {
  const env = envOf({
    SUPABASE_SECRET_KEYS: JSON.stringify({ other: "sb_secret_other", default: "sb_secret_default", empty: "", n: 5 }),
    SUPABASE_SERVICE_ROLE_KEY: "legacy-jwt",
  });
  assert.deepEqual(serviceKeys(env), ["sb_secret_default", "sb_secret_other", "legacy-jwt"]);
  assert.deepEqual(serviceKeys(envOf({})), []);
  assert.deepEqual(
    serviceKeys(envOf({ SUPABASE_SECRET_KEYS: "", SUPABASE_SERVICE_ROLE_KEY: "" })),
    [],
    "empty values never count",
  );
});

Deno.test("accepted keys: the service keys and a non-empty CLEANUP_SECRET", () => {
  assert.deepEqual(acceptedKeys(envOf({ SUPABASE_SERVICE_ROLE_KEY: "k", CLEANUP_SECRET: "c" })), ["k", "c"]);
  assert.deepEqual(acceptedKeys(envOf({ CLEANUP_SECRET: "" })), []);
  assert.deepEqual(acceptedKeys(envOf({ CLEANUP_SECRET: "c" }), ["given"]), ["given", "c"]);
});

Deno.test("SUPABASE_SECRET_KEYS that is not a JSON object is a 500 refusal saying so", () => {
  for (const raw of ["not json", "[1]", '"key"', "null"]) {
    assert.throws(
      () => serviceKeys(envOf({ SUPABASE_SECRET_KEYS: raw })),
      (err) => err instanceof Refusal && err.status === 500 && /must be a JSON object/.test(err.body.error),
      raw,
    );
  }
});

Deno.test("presented keys: the apikey header and a Bearer token, trimmed; nothing else", () => {
  assert.deepEqual(presentedKeys(new Headers({ apikey: " a ", authorization: "Bearer b" })), ["a", "b"]);
  assert.deepEqual(presentedKeys(new Headers({ authorization: "  bearer   b  " })), ["b"]);
  assert.deepEqual(presentedKeys(new Headers({ authorization: "Basic b" })), []);
  assert.deepEqual(presentedKeys(new Headers({ authorization: "Bearer a b" })), []);
  assert.deepEqual(presentedKeys(new Headers({ apikey: "   " })), []);
});

Deno.test("isAuthorized: any presented key equal to any accepted key, exactly", async () => {
  assert.equal(await isAuthorized(["x", "secret"], ["other", "secret"]), true);
  assert.equal(await isAuthorized(["secre"], ["secret"]), false);
  assert.equal(await isAuthorized(["secret "], ["secret"]), false);
  assert.equal(await isAuthorized(["Secret"], ["secret"]), false);
  assert.equal(await isAuthorized([], ["secret"]), false);
  assert.equal(await isAuthorized(["secret"], []), false);
});
