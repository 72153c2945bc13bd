// The overlap of the switch from connect-pg-simple: while old app instances still run (a
// rolling deploy), this store and connect-pg-simple's table are kept in step from this
// side (the guard trigger keeps them in step from the other, src/cli/switch.ts):
//   - a session this store does not hold is looked up in the old table and saved here
//     (read-through), unless it was destroyed here: the save finds the tombstone;
//   - each save, touch and destroy here is written back there, so that an old instance
//     serving the same user next sees it (no lost update, no logout undone there).
// The old table holds session ids in plain text, and these statements send the id to it
// (docs/security.md). The end: the old table drained and no old instance left, the option
// removed, the table dropped (docs/switching.md).
import type { SessionData } from "express-session";
import {
  type ImportedSession,
  importedSession,
  legacyExpiry,
  type LegacyTable,
  legacyTableName,
} from "./connect-pg-simple.js";
import { CorruptSessionError } from "./errors.js";
import { type Queryable, quoteIdent, rowsOf } from "./pg-backend.js";
import type { SaveWrite, WriteOutcome } from "./write-plan.js";

/** The store option `connectPgSimple`: the old table, and the pool to reach it with. */
export interface OldTableOptions extends LegacyTable {
  /** Reaches the old table; default the store's own `pool`. Needed with `client` or `connectionString`. */
  pool?: Queryable;
}

export class OldTable {
  readonly #pool: Queryable;
  readonly #timeZone: string | null;
  readonly #maxDataBytes: number;
  readonly #ttl: number;
  readonly #find: string;
  readonly #save: string;
  readonly #undoLateSave: string;
  readonly #touch: string;
  readonly #destroy: string;
  readonly #destroyUser: string;
  readonly #destroyKey: string;

  /** `options`: the store's `connectPgSimple`, with the pool to reach it; `settings`: the store's own. */
  constructor(
    options: OldTableOptions & { pool: Queryable },
    settings: { maxDataBytes: number; ttl: number; schema: string },
  ) {
    this.#pool = options.pool;
    this.#timeZone = options.timeZone ?? null;
    this.#maxDataBytes = settings.maxDataBytes;
    this.#ttl = settings.ttl;
    const table = legacyTableName(options);
    // connect-pg-simple's `expire` is local time in its connection's TimeZone (see legacyExpiry).
    const local = (instant: string) =>
      `(${instant} at time zone coalesce($2::text, pg_catalog.current_setting('TimeZone')))`;
    this.#find = `select sess::text as sess, ${legacyExpiry(2)} as expires_at from ${table}
                   where sid = $1 and ${legacyExpiry(2)} > pg_catalog.now()`;
    // Not after a destroy here that came in between: an old instance would serve the session again.
    this.#save = `insert into ${table} (sid, sess, expire)
                  select $1, $3::json, ${
      local("coalesce($4::timestamptz, pg_catalog.now() + pg_catalog.make_interval(secs => $5))")
    }
                   where not exists (select 1 from ${quoteIdent(settings.schema)}.sessions s
                                      where s.sid = $6 and s.destroyed_at is not null)
                  on conflict (sid) do update set sess = excluded.sess, expire = excluded.expire`;
    // A logout here that committed after the save's snapshot was taken is invisible to its check above,
    // and its delete there may come before the save's insert: a second statement, with a snapshot of its
    // own (taken after both), sees that logout and takes the row away again.
    this.#undoLateSave = `delete from ${table} o
                           where o.sid = $1
                             and exists (select 1 from ${quoteIdent(settings.schema)}.sessions s
                                          where s.sid = $2 and s.destroyed_at is not null)`;
    this.#touch = `update ${table}
                      set expire = ${
      local("coalesce($3::timestamptz, pg_catalog.now() + pg_catalog.make_interval(secs => $4))")
    }
                    where sid = $1`;
    this.#destroy = `delete from ${table} where sid = $1`;
    // No index there for this: a scan of the old table, during the overlap only.
    this.#destroyUser = `delete from ${table} where (sess #>> '{passport,user}') = $1`;
    this.#destroyKey = `delete from ${table}
                         where pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(sid, 'UTF8')), 'hex') = $1`;
  }

  /**
   * The old session `sid` once it is saved here, or null: not in the old table, expired,
   * or destroyed here, or corrupt (then handed to `report`, as the store reports its own).
   */
  async find(
    sid: string,
    save: (write: SaveWrite) => Promise<WriteOutcome | undefined>,
    report: (err: CorruptSessionError) => void,
  ): Promise<SessionData | null> {
    const [row] = rowsOf(await this.#pool.query(this.#find, [sid, this.#timeZone])) as {
      sess: string;
      expires_at: Date | string;
    }[];
    if (!row) return null;
    let session: ImportedSession;
    try {
      session = importedSession(sid, row.sess, new Date(row.expires_at), this.#maxDataBytes);
    } catch (err) {
      if (!(err instanceof CorruptSessionError)) throw err;
      report(err);
      return null;
    }
    const outcome = await save({ kind: "save", json: session.json, bytes: session.bytes, expiry: session.expiry });
    return outcome === "stored" ? (JSON.parse(session.json) as SessionData) : null;
  }

  /** After a save here stored the session: the same data there, unless a logout here came in between. */
  async saved(sid: string, key: string, json: string, expiry: Date | null): Promise<void> {
    await this.#pool.query(this.#save, [sid, this.#timeZone, json, expiry?.toISOString() ?? null, this.#ttl, key]);
    await this.#pool.query(this.#undoLateSave, [sid, key]);
  }

  /** After a touch here moved the expiry: the same expiry there. */
  async touched(sid: string, expiry: Date | null): Promise<void> {
    await this.#pool.query(this.#touch, [sid, this.#timeZone, expiry?.toISOString() ?? null, this.#ttl]);
  }

  /** After a destroy here: the old row goes too, so that no old instance still serves the session. */
  async destroyed(sid: string): Promise<void> {
    await this.#pool.query(this.#destroy, [sid]);
  }

  /** After a session ended here by its key (the account page's handle): its old row goes too. */
  async keyDestroyed(key: string): Promise<void> {
    await this.#pool.query(this.#destroyKey, [key]);
  }

  /** After "log out everywhere" here: the user's old rows go too. */
  async userDestroyed(user: string): Promise<void> {
    await this.#pool.query(this.#destroyUser, [user]);
  }
}
