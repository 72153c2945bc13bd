// The keyset loops: reading a listing page by page, and clearing every session batch by
// batch. Each is given the one call it repeats (the store's round trip, from a cursor)
// and decides only where the next call starts and when to stop.
import { sidOf } from "./backend.js";

/**
 * Rows per page of `all()`, `ids()` and `listUserSessions()`: hosted Supabase's default max
 * rows, so that the API never cuts a page; where a project's max rows is set lower, `all()`
 * and `ids()` fail saying so, and `listUserSessions()` follows each page's `has_more`.
 */
export const LIST_PAGE_SIZE = 1000;
/** Sessions one `session_clear_batch` call destroys: well within the API's 8 s statement timeout. */
export const CLEAR_BATCH_SIZE = 5000;

type Row = Record<string, unknown>;
/** One call of a keyset-paged function: at most `limit` rows after `after` (null: from the start). */
export type PageCall = (after: string | null, limit: number) => Promise<Row[]>;

/**
 * The pages of `session_all_page` or `session_ids_page` (`op` names the operation in
 * errors), until a page shorter than `pageSize`. Each row says how many rows its page has
 * (page_rows): fewer rows than that means the API cut the page, which is an error, never a
 * silently shorter listing.
 */
export async function* listingPages(op: string, pageSize: number, call: PageCall): AsyncGenerator<Row[]> {
  let after: string | null = null;
  for (;;) {
    const rows: Row[] = await call(after, pageSize);
    const pageRows = Number(rows[0]?.page_rows ?? 0);
    if (rows.length < pageRows) {
      throw new Error(
        `${op}(): the API returned ${rows.length} of a page's ${pageRows} rows: its max rows ` +
          `(PostgREST db-max-rows, "Max rows" in Supabase's API settings) is below ${pageSize}; raise it to at least ${pageSize}`,
      );
    }
    if (rows.length) yield rows;
    if (rows.length < pageSize) return;
    after = sidOf(rows[rows.length - 1]);
  }
}

/**
 * The pages of `session_list_user`, keyed by handle. Each row says whether more follow it:
 * a page an API's row cap cut short ends on a row that says so, and the next page starts
 * after it.
 */
export async function* userSessionPages(pageSize: number, call: PageCall): AsyncGenerator<Row[]> {
  let after: string | null = null;
  for (;;) {
    const rows: Row[] = await call(after, pageSize);
    yield rows;
    const last = rows.at(-1);
    if (last?.has_more !== true) return;
    after = String(last.handle);
  }
}

/**
 * Calls `session_clear_batch`, `batchSize` sessions at a time, from the start of the sid
 * order to its end; resolves with how many live sessions the batches ended. Each answer is
 * one row: ended, tombstoned, last_sid (where the next batch starts). A batch that
 * tombstoned fewer than `batchSize` reached the end, so fewer sessions than one batch take
 * one call: the function locks its rows below its LIMIT, so a row destroyed concurrently
 * is passed over and the next one taken, and only the end of the rows makes a batch short.
 */
export async function clearInBatches(batchSize: number, call: PageCall): Promise<number> {
  let ended = 0;
  let after: string | null = null;
  for (;;) {
    const batch: Row | undefined = (await call(after, batchSize))[0];
    ended += Number(batch?.ended ?? 0);
    if (!batch || Number(batch.tombstoned) < batchSize) return ended;
    after = String(batch.last_sid);
  }
}
