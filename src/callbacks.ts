// express-session's callbacks, beside the promise every store operation also returns.
import { nextTick } from "./real-timers.js";

export type Callback<T> = (err: unknown, value?: T) => void;

/**
 * Runs `work` and settles the callback exactly once with its result, outside the promise
 * chain (so a throwing callback surfaces as the exception it is, and is never called
 * twice), and marks the returned promise handled so that a caller using only the callback
 * sees no unhandled rejection.
 */
export function withCallback<T>(callback: Callback<T> | undefined, work: () => Promise<T>): Promise<T> {
  const result = work();
  if (typeof callback === "function") {
    result.then(
      (value) => nextTick(callback, null, value),
      (err: unknown) => nextTick(callback, err),
    );
  }
  return result;
}
