// Hosted Supabase's API limits, on by default: the request body limit (enforced here,
// as the body is read) and PostgREST's db-max-rows (applied by the call's query).
import { gatewayError } from "./errors.mjs";

/** Default request body limit: 1 MiB (hosted Supabase's own limit is not documented). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Default max rows of a set-returning result: a new hosted project's "Max rows". */
export const DEFAULT_MAX_ROWS = 1000;

/** A non-negative integer setting from the environment, or its default when unset or empty. */
export function limitFromEnv(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Checks startGateway's limit options up front. */
export function checkLimits({ maxRows, bodyLimit }) {
  if (!Number.isSafeInteger(maxRows) || maxRows < 0) {
    throw new RangeError("startGateway: maxRows must be an integer >= 0 (0: no cap)");
  }
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1) {
    throw new RangeError("startGateway: bodyLimit must be a positive integer");
  }
}

/** Reads the request body up to `limit` bytes; a larger one is drained and refused with 413. */
export function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const tooLarge = () => gatewayError(413, `Request body exceeds ${limit} bytes`);
    if (Number(req.headers["content-length"] ?? 0) > limit) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => (size > limit ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}
