// Runs an Edge Function entry point (the module given as the first argument) with
// `Deno.serve` listening where DENO_SERVE_ADDRESS (`tcp:HOST:PORT`) says. The edge
// runtime's Deno (2.1) reads that variable only under `deno serve`: under `deno run`,
// an entry that calls `Deno.serve(handler)` always binds port 8000, so two local stacks
// on one machine would collide.
const address = Deno.env.get("DENO_SERVE_ADDRESS")?.match(/^tcp:(.+):(\d+)$/);
if (!address) throw new Error("DENO_SERVE_ADDRESS must be tcp:HOST:PORT");
const at = { hostname: address[1], port: Number(address[2]) };
const serve = Deno.serve.bind(Deno) as (...args: unknown[]) => Deno.HttpServer;

// Every form of the call (handler; options and handler; options with a handler), each
// with the address replaced.
Object.defineProperty(Deno, "serve", {
  value: (first: unknown, ...rest: unknown[]) =>
    typeof first === "function" ? serve(at, first) : serve({ ...(first as object), ...at }, ...rest),
});

await import(Deno.args[0]);
