// package-lock.json: every package npm installs is pinned by its integrity hash, so that
// `npm ci` verifies each tarball it fetches against the hash npm recorded, and an entry
// written by hand (which has none) is noticed.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";

const lock = JSON.parse(fs.readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8"));

/**
 * Entries known to lack their hash: the `deno` package's platform binaries for other
 * machines. The registry mirror this lock was made against serves no 2.1.14 of them, so
 * npm cannot record their hashes, and without the entries `npm ci` refuses the lock as
 * out of sync with `deno`'s optional dependencies. Regenerating the lock where the
 * registry has them gives them hashes; then this list must go (the second test says so).
 */
const KNOWN_WITHOUT_INTEGRITY = [
  "node_modules/@deno/darwin-arm64",
  "node_modules/@deno/darwin-x64",
  "node_modules/@deno/linux-arm64-glibc",
  "node_modules/@deno/win32-arm64",
  "node_modules/@deno/win32-x64",
];

/** The entries of installed packages: not the root project, not links to folders. */
const installed = Object.entries(lock.packages).filter(([key, entry]) => key !== "" && !entry.link);

test("the lock is npm's lockfile version 3, with installed packages in it", () => {
  assert.equal(lock.lockfileVersion, 3);
  assert.ok(installed.length > 0);
});

test("every installed package's entry has an integrity hash (none written by hand)", () => {
  const missing = installed.filter(([, entry]) => !entry.integrity).map(([key]) => key);
  assert.deepEqual(missing.filter((key) => !KNOWN_WITHOUT_INTEGRITY.includes(key)), [], "entries without integrity");
  assert.deepEqual(
    KNOWN_WITHOUT_INTEGRITY.filter((key) => !missing.includes(key)),
    [],
    "entries that now have their hash (or are gone): remove them from KNOWN_WITHOUT_INTEGRITY",
  );
});

test("every hash is a Subresource Integrity string npm writes", () => {
  for (const [key, entry] of installed.filter(([, entry]) => entry.integrity)) {
    assert.match(entry.integrity, /^sha(512|384|256|1)-[A-Za-z0-9+/]+={0,2}( sha\S+)*$/, key);
  }
});
