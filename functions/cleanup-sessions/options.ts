// The optional JSON body of a cleanup request, read with a size cap and validated
// strictly: an unknown field is rejected rather than ignored, so a typo such as
// `batch_size` cannot silently fall back to the default.
import { refuse } from "./refusal.ts";

export interface PurgeOptions {
  /** Rows deleted per call of cleanup_expired_sessions (its own limit is 100000). */
  batchSize: number;
  /** Stop starting new batches once this much time has passed; at least one batch always runs. */
  timeBudgetMs: number;
  /** Only count what would be deleted. */
  dryRun: boolean;
}

const DEFAULT_OPTIONS: PurgeOptions = { batchSize: 10_000, timeBudgetMs: 25_000, dryRun: false };

/** Bodies are a few dozen bytes; anything much larger is not a cleanup request. */
const MAX_BODY_BYTES = 1024;

// The upper budget stays well inside the Edge Functions wall-clock limit (150 s on the free plan).
const LIMITS = { batchSize: [1, 100_000], timeBudgetMs: [0, 120_000] } as const;

/** Reads and validates the request body (a Refusal: 400, 413 or 415); an empty body means the defaults. */
export async function readOptions(req: Request): Promise<PurgeOptions> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const body = await readCapped(req);
  if (body.length === 0) return { ...DEFAULT_OPTIONS };

  const mediaType = req.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw refuse(415, "the request body must be JSON (Content-Type: application/json)");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw refuse(400, "the request body is not valid JSON");
  }
  return validate(parsed);
}

function validate(input: unknown): PurgeOptions {
  if (!input || typeof input !== "object" || Array.isArray(input)) {
    throw refuse(400, "the request body must be a JSON object");
  }
  const options = { ...DEFAULT_OPTIONS };
  for (const [field, value] of Object.entries(input)) {
    if (field === "batchSize" || field === "timeBudgetMs") {
      const [min, max] = LIMITS[field];
      if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
        throw refuse(400, `${field} must be an integer from ${min} to ${max}`);
      }
      options[field] = value as number;
    } else if (field === "dryRun") {
      if (typeof value !== "boolean") throw refuse(400, "dryRun must be true or false");
      options.dryRun = value;
    } else {
      // Name the field back only when it looks like one (the usual typo, batch_size):
      // arbitrary caller text never reaches the answer or the log line.
      const named = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(field) ? ` "${field}"` : "";
      throw refuse(400, `unknown field${named}; allowed: batchSize, timeBudgetMs, dryRun`);
    }
  }
  return options;
}

function tooLarge() {
  return refuse(413, `the request body must not exceed ${MAX_BODY_BYTES} bytes`);
}

/** The body, without ever buffering more than the cap (Content-Length may be absent or wrong). */
async function readCapped(req: Request): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}
