// What PostgREST reads from an RPC request (its schema profile, the media type it
// accepts, its named arguments) and how the gateway writes a JSON answer.
import { pgrstError } from "./errors.mjs";
import { readBody } from "./limits.mjs";

export function send(res, status, body, headers = {}) {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  }).end(text);
}

/** The response media type PostgREST would pick for this Accept header. */
export function negotiate(accept = "*/*") {
  for (const item of accept.split(",")) {
    const [type, ...params] = item.split(";").map((s) => s.trim().toLowerCase());
    const stripNulls = params.includes("nulls=stripped");
    if (type === "application/vnd.pgrst.object+json") return { single: true, stripNulls, type };
    if (type === "application/vnd.pgrst.array+json") return { single: false, stripNulls, type };
    if (["application/json", "application/*", "*/*", ""].includes(type)) {
      return { single: false, stripNulls: false, type: "application/json" };
    }
  }
  throw pgrstError(406, "PGRST107", `None of these media types are available: ${accept}`);
}

/** The schema a request addresses: its profile header's, else the first exposed one. */
export function requestSchema(headers, method, exposed) {
  const profile = method === "POST" ? headers["content-profile"] : headers["accept-profile"];
  if (profile === undefined) return exposed[0];
  if (!exposed.includes(profile)) {
    throw pgrstError(406, "PGRST106", `Invalid schema: ${profile}`, {
      hint: `Only the following schemas are exposed: ${exposed.join(", ")}`,
    });
  }
  return profile;
}

export async function requestArguments(req, url, bodyLimit) {
  if (req.method !== "POST") {
    return Object.fromEntries(url.searchParams);
  }
  const contentType = req.headers["content-type"];
  if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) {
    throw pgrstError(415, "PGRST107", `None of these media types are available: ${contentType}`);
  }
  const text = await readBody(req, bodyLimit);
  if (text.trim() === "") return {};
  let args;
  try {
    args = JSON.parse(text);
  } catch {
    throw pgrstError(400, "PGRST102", "Empty or invalid json");
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw pgrstError(400, "PGRST102", "Empty or invalid json", {
      details: "This gateway accepts only a JSON object of named arguments",
    });
  }
  return args;
}
