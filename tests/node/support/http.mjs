// A tiny cookie jar and JSON request helper, enough to drive the example app as a
// browser would (one jar per browser).

export class CookieJar {
  #cookies = new Map();

  /** Takes the response's Set-Cookie headers; an expired cookie is removed. */
  update(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const expires = attributes.find((a) => /^expires=/i.test(a));
      const maxAge = attributes.find((a) => /^max-age=/i.test(a));
      const gone = (expires && Date.parse(expires.slice(8)) <= Date.now()) || (maxAge && Number(maxAge.slice(8)) <= 0);
      if (gone) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(eq + 1));
    }
  }

  get(name) {
    return this.#cookies.get(name);
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  /** A copy, e.g. to replay an old cookie after logout. */
  clone() {
    const copy = new CookieJar();
    for (const [name, value] of this.#cookies) copy.#cookies.set(name, value);
    return copy;
  }
}

/** Sends a request with the jar's cookies, updates the jar, returns status, JSON body and headers. */
export async function request(baseUrl, path, { method = "GET", jar, body, headers = {} } = {}) {
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers: {
      ...(body !== undefined && { "content-type": "application/json" }),
      ...(jar && jar.header() && { cookie: jar.header() }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  jar?.update(res);
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** The session id inside an express-session cookie value (`s:<sid>.<signature>`, URL-encoded). */
export function sessionIdOf(cookieValue) {
  const raw = decodeURIComponent(cookieValue ?? "");
  if (!raw.startsWith("s:")) throw new Error(`not a signed session cookie: ${cookieValue}`);
  return raw.slice(2, raw.lastIndexOf("."));
}
