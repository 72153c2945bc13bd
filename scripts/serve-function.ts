// Runs an Edge Function entry (`Deno.serve(handler)`) on the address in FUNCTION_ADDRESS
// (`host:port`, port 0 = any free one). Newer Deno reads DENO_SERVE_ADDRESS for this, but the
// edge runtime's Deno (2.1) does not and would bind port 8000; on the platform the runtime,
// not the function, owns the listener, so the entry itself stays as deployed.
//
// A request carrying the PROBE header is answered here (204) and never reaches the function:
// scripts/serve-functions.mjs's readiness probe, which the function would refuse (401, no key)
// and log as a warning on every start.
//
//   deno run --allow-net --allow-env --allow-read scripts/serve-function.ts <file URL of the entry>
const [hostname, port] = (Deno.env.get("FUNCTION_ADDRESS") ?? "127.0.0.1:0").split(":");
const PROBE = "x-local-stack-probe";
const serve = Deno.serve;
const address = { hostname, port: Number(port) };

type Handler = (req: Request, info: unknown) => Response | Promise<Response>;
const answeringProbes = (handler: Handler): Handler => (req, info) =>
  req.headers.has(PROBE) ? new Response(null, { status: 204 }) : handler(req, info);

// deno-lint-ignore no-explicit-any
(Deno as any).serve = (first: unknown, ...rest: unknown[]) => {
  if (typeof first === "function") {
    // deno-lint-ignore no-explicit-any
    return (serve as any)(address, answeringProbes(first as Handler));
  }
  const options = { ...(first as { handler?: Handler }), ...address };
  if (options.handler) options.handler = answeringProbes(options.handler);
  const handler = typeof rest[0] === "function" ? [answeringProbes(rest[0] as Handler)] : [];
  // deno-lint-ignore no-explicit-any
  return (serve as any)(options, ...handler);
};

await import(Deno.args[0]);
