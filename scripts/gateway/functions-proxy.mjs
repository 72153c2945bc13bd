// `/functions/v1/<path>`: proxied to the Edge Functions server (method, headers, body
// streamed both ways), as Supabase's gateway routes Edge Functions.
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { pipeline } from "node:stream";
import { gatewayError } from "./errors.mjs";
import { send } from "./request.mjs";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

export function proxyFunction(req, res, url, functionsUrl) {
  if (!functionsUrl) throw gatewayError(503, "Edge Functions are not configured on this gateway");
  const target = new URL(functionsUrl);
  target.pathname = path.posix.join(target.pathname, url.pathname.slice("/functions/v1".length) || "/");
  target.search = url.search;
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
  const unavailable = () => {
    if (res.headersSent) res.destroy();
    else send(res, 503, { message: "Edge Functions service is unavailable" });
  };
  const upstream = (target.protocol === "https:" ? https : http).request(
    target,
    { method: req.method, headers },
    (up) => {
      const back = Object.fromEntries(Object.entries(up.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
      res.writeHead(up.statusCode, back);
      pipeline(up, res, () => {});
    },
  );
  upstream.on("error", unavailable);
  pipeline(req, upstream, (err) => {
    if (err) upstream.destroy();
  });
}
