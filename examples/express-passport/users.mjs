// Password hashing with node:crypto's scrypt (a memory-hard KDF, no native
// dependency) and the demo users of the example app.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

const scryptAsync = promisify(scrypt);
const KEY_LENGTH = 64;
// Node's defaults (N = 16384, r = 8, p = 1): about 16 MiB and tens of milliseconds per hash.
const COST = { N: 16384, r: 8, p: 1 };

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64: the parameters travel with the hash. */
export async function hashPassword(password) {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, KEY_LENGTH, COST);
  return ["scrypt", COST.N, COST.r, COST.p, salt.toString("base64"), hash.toString("base64")].join("$");
}

export async function verifyPassword(password, stored) {
  const [scheme, N, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt") throw new Error("unknown password hash scheme");
  const expected = Buffer.from(hash, "base64");
  const actual = await scryptAsync(password, Buffer.from(salt, "base64"), expected.length, {
    N: Number(N),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(actual, expected);
}

/**
 * An in-memory user directory: `findById` and `authenticate`.
 * An unknown username still costs one scrypt, so response time does not reveal
 * which usernames exist.
 */
export async function createUserDirectory(entries) {
  const users = await Promise.all(entries.map(async ({ id, username, password }) => ({
    id: String(id),
    username,
    passwordHash: await hashPassword(password),
  })));
  const byName = new Map(users.map((u) => [u.username, u]));
  const byId = new Map(users.map((u) => [u.id, u]));
  const decoy = await hashPassword(randomBytes(16).toString("hex"));

  return {
    findById: (id) => byId.get(String(id)) ?? null,
    async authenticate(username, password) {
      const user = typeof username === "string" ? byName.get(username) : undefined;
      const ok = await verifyPassword(typeof password === "string" ? password : "", user?.passwordHash ?? decoy);
      return ok && user ? user : null;
    },
  };
}

/** The example's users. Demo only: a real app keeps hashed passwords in its database. */
export const DEMO_USERS = [
  { id: 1, username: "alice", password: "alice-demo-password" },
  { id: 2, username: "bob", password: "bob-demo-password" },
];
