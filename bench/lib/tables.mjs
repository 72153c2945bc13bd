// The benchmarks' starting state: the same live sessions in both stores' tables, this store's
// under their keys (keySql, the SHA-256 the store computes in Node), connect-pg-simple's under
// the ids themselves. Used by bench/run.mjs and bench/cost.mjs alike.
import { sessionKey } from "../../dist/esm/session-key.js";
import { CPS_TABLE_DDL } from "./clients.mjs";
import { keySql, LIVE_SID_BASE, liveSid, sessionJson } from "./session.mjs";

const CHUNK = 500_000;

/**
 * Sessions 1 to `live` with `payload` (default the bench's ~1.2 KB session) in both tables,
 * then `vacuum analyze` (as autovacuum keeps a live table) unless `vacuum` is false; `from` > 1
 * adds to this store's table only. A mismatch between the SQL key and the store's fails here.
 */
export async function fill(admin, live, { from = 1, payload = sessionJson(), vacuum = true, log } = {}) {
  const fresh = from === 1;
  if (fresh) {
    await admin.query(CPS_TABLE_DDL);
    await admin.query('truncate public.sessions, public."session"');
  }
  for (let lo = from; lo <= live; lo += CHUNK) {
    const hi = Math.min(live, lo + CHUNK - 1);
    const values = [payload, LIVE_SID_BASE.toString(), lo, hi];
    await admin.query(
      `insert into public.sessions (sid, data, expires_at)
       select ${keySql("($2::numeric + g)::text")}, $1::jsonb, now() + interval '1 day'
         from generate_series($3::int, $4::int) g`,
      values,
    );
    if (fresh) {
      await admin.query(
        `insert into public."session" (sid, sess, expire)
         select ($2::numeric + g)::text, $1::json, now() + interval '1 day' from generate_series($3::int, $4::int) g`,
        values,
      );
    }
    if (hi - from >= CHUNK) log?.(`  ${hi.toLocaleString("en-US")} of ${live.toLocaleString("en-US")} rows`);
  }
  const { rows: [row] } = await admin.query(`select ${keySql("$1::text")} as key`, [liveSid(1)]);
  if (row.key !== sessionKey(liveSid(1))) throw new Error("the SQL key of a session id is not the store's");
  if (vacuum) await admin.query('vacuum analyze public.sessions, public."session"');
}
