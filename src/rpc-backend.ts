import type { Args, Backend, SessionFunction } from "./backend.js";
import { JsonArg } from "./backend.js";
import { RpcError } from "./errors.js";

/** The PostgREST response supabase-js resolves `.rpc()` with. */
export interface RpcResponse {
  data: unknown;
  error: { message?: string; code?: string; details?: string | null; hint?: string | null } | null;
  status?: number;
}

/**
 * What the store needs of a supabase-js client (typed structurally so that no
 * supabase-js version is forced on the application): `.rpc()`, and `.schema()` to
 * reach functions outside the client's default schema.
 */
// `any` for the arguments: supabase-js types `.rpc()` from the generated database types, and
// any narrower parameter type here would reject a typed client.
export interface RpcClient {
  // deno-lint-ignore no-explicit-any
  rpc(fn: string, args?: any): PromiseLike<RpcResponse>;
  // deno-lint-ignore no-explicit-any
  schema?(schema: string): { rpc(fn: string, args?: any): PromiseLike<RpcResponse> };
}

/** Calls the session functions through PostgREST's `POST /rest/v1/rpc/<fn>` with named arguments. */
export class RpcBackend implements Backend {
  readonly #target: Pick<RpcClient, "rpc">;

  constructor(client: RpcClient, schema: string) {
    if (typeof client?.rpc !== "function") {
      throw new TypeError("client must be a supabase-js client (it has no .rpc())");
    }
    if (typeof client.schema === "function") this.#target = client.schema(schema);
    else if (schema === "public") this.#target = client;
    else throw new TypeError(`client has no .schema(), so it cannot reach schema ${JSON.stringify(schema)}`);
  }

  async rows(fn: SessionFunction, args: Args): Promise<Record<string, unknown>[]> {
    const data = await this.#call(fn, args);
    return Array.isArray(data) ? data : [];
  }

  scalar(fn: SessionFunction, args: Args): Promise<unknown> {
    return this.#call(fn, args);
  }

  async close(): Promise<void> {
    // The application owns the client.
  }

  async #call(fn: SessionFunction, args: Args): Promise<unknown> {
    const named: Args = {};
    for (const [name, value] of Object.entries(args)) {
      named[name] = value instanceof JsonArg ? JSON.parse(value.text) : value;
    }
    const { data, error, status } = await this.#target.rpc(fn, named);
    if (error) throw new RpcError(error, status ?? 0);
    return data;
  }
}
