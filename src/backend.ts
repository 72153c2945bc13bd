/** The SQL functions (supabase/migrations) the store calls, one per round trip. */
export type SessionFunction =
  | "session_get"
  | "session_get_one"
  | "session_save"
  | "session_save_one"
  | "session_touch"
  | "session_touch_one"
  | "session_write"
  | "session_destroy"
  | "session_destroy_user"
  | "session_all_page"
  | "session_ids_page"
  | "session_count"
  | "session_clear_batch"
  | "session_list_user"
  | "session_destroy_user_session";

/**
 * Named arguments, in the SQL function's parameter order: the pg backend passes them
 * positionally, the supabase-js backend by name (as PostgREST does).
 */
export type Args = Record<string, unknown>;

/**
 * A JSON argument serialised once, when the operation was issued (a batch may go out
 * later, and the caller may change its objects meanwhile): the pg backend sends the text,
 * supabase-js the value parsed back from it.
 */
export class JsonArg {
  constructor(readonly text: string) {}
}

/** One round trip to one SQL function. */
export interface Backend {
  /** Calls a table-returning function and returns its rows. */
  rows(fn: SessionFunction, args: Args): Promise<Record<string, unknown>[]>;
  /** Calls a scalar (or void) function and returns its value. */
  scalar(fn: SessionFunction, args: Args): Promise<unknown>;
  /** Releases what the store owns. */
  close(): Promise<void>;
}

/** A session id out of a one-column `sid` table function's result: PostgREST may answer with bare values, pg with rows. */
export function sidOf(row: unknown): string {
  return String(typeof row === "object" && row !== null ? (row as { sid: unknown }).sid : row);
}
