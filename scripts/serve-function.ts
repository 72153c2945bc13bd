// Runs an Edge Function entry (`Deno.serve(handler)`) on the address in FUNCTION_ADDRESS
// (`host:port`, port 0 = any free one). Newer Deno reads DENO_SERVE_ADDRESS for this, but the
// edge runtime's Deno (2.1) does not and would bind port 8000; on the platform the runtime,
// not the function, owns the listener, so the entry itself stays as deployed.
//
//   deno run --allow-net --allow-env --allow-read scripts/serve-function.ts <file URL of the entry>
const [hostname, port] = (Deno.env.get("FUNCTION_ADDRESS") ?? "127.0.0.1:0").split(":");
const serve = Deno.serve;
const address = { hostname, port: Number(port) };

// deno-lint-ignore no-explicit-any
(Deno as any).serve = (first: unknown, ...rest: unknown[]) =>
  typeof first === "function"
    // deno-lint-ignore no-explicit-any
    ? (serve as any)(address, first)
    // deno-lint-ignore no-explicit-any
    : (serve as any)({ ...(first as object), ...address }, ...rest);

await import(Deno.args[0]);
