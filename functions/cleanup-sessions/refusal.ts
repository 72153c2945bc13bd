// The one way a step of a cleanup request says no: the HTTP status, the JSON body the
// caller gets, and what the log line adds (never a key, never caller text).

export class Refusal extends Error {
  constructor(
    readonly status: number,
    /** The answer's JSON body: `error` and, for a failed purge, what it had done. */
    readonly body: { error: string } & Record<string, unknown>,
    /** Fields only the log line carries (a reason, the method, a failure's detail). */
    readonly logFields: Record<string, unknown> = {},
    readonly headers: HeadersInit = {},
  ) {
    super(body.error);
  }
}

/** A refusal whose body is only its message. */
export function refuse(
  status: number,
  error: string,
  logFields?: Record<string, unknown>,
  headers?: HeadersInit,
): Refusal {
  return new Refusal(status, { error }, logFields, headers);
}
