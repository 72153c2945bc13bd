// `/rest/v1/rpc/<fn>`: one RPC call from request to answer, in PostgREST's order
// (method, credentials, schema profile, media type, arguments, function, call).
import { authenticate } from "./auth.mjs";
import { callQuery, inTransaction } from "./database.mjs";
import { pgrstError } from "./errors.mjs";
import { negotiate, requestArguments, requestSchema, send } from "./request.mjs";

/** The handler of RPC requests for one gateway's pool, schema cache, keys and limits. */
export function rpcHandler({ pool, schemaCache, keys, exposedSchemas, maxRows, bodyLimit }) {
  return async function handleRpc(req, res, url, name) {
    if (!["GET", "HEAD", "POST"].includes(req.method)) {
      throw pgrstError(405, "PGRST101", `Cannot use the ${req.method} method on RPC`);
    }
    const { role, claims } = authenticate(req.headers, keys);
    const inSchema = requestSchema(req.headers, req.method, exposedSchemas);
    const media = negotiate(req.headers.accept);
    const args = await requestArguments(req, url, bodyLimit);
    const argNames = Object.keys(args).sort();
    const { fn, roleSettings } = await schemaCache.resolveFunction(inSchema, name, argNames);
    const row = await inTransaction(pool, {
      role,
      claims,
      method: req.method,
      requestPath: `/rpc/${name}`,
      readOnly: req.method !== "POST",
      settings: roleSettings.get(role),
    }, callQuery(fn, args, media.stripNulls, maxRows));
    if (fn.returnsVoid) {
      send(res, 204);
      return;
    }
    let body = row.body;
    if (media.single && fn.returnsSet) {
      if (row.rows !== 1) {
        throw pgrstError(406, "PGRST116", "Cannot coerce the result to a single JSON object", {
          details: `The result contains ${row.rows} rows`,
        });
      }
      body = JSON.stringify(JSON.parse(body)[0]);
    }
    send(res, 200, body ?? "null", { "content-type": `${media.type}; charset=utf-8` });
  };
}
