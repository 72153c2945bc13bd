// The app's pages, server-rendered: plain HTML forms that work without JavaScript.
// Every form that changes something carries the CSRF token (see csrf.mjs).
import { CSRF_FIELD } from "./csrf.mjs";
import { html } from "./html.mjs";

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const UNITS = [["day", 86_400], ["hour", 3_600], ["minute", 60]];

function fromNow(date, now) {
  const seconds = (date.getTime() - now.getTime()) / 1000;
  if (Math.abs(seconds) < 60) return seconds < 0 ? "just now" : "in a moment";
  const [unit, size] = UNITS.find(([, size]) => Math.abs(seconds) >= size);
  return relative.format(Math.round(seconds / size), unit);
}

/** "5 minutes ago", with the exact UTC time on hover and for machines. */
function time(date, now) {
  const exact = `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return html`<time datetime="${date.toISOString()}" title="${exact}">${fromNow(date, now)}</time>`;
}

function csrfField(token) {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;
}

function layout({ title, user, csrfToken, body }) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · supabase-session-store example</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="bar">
  <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>Example app</a>
  ${
    user && html`<form class="logout" method="post" action="/logout">
    ${csrfField(csrfToken)}
    <span class="who">${user.username}</span>
    <button type="submit" class="quiet">Log out</button>
  </form>`
  }
</header>
<main>
${body}
</main>
<footer>Express, Passport and express-session; sessions kept in Postgres by supabase-session-store.</footer>
</body>
</html>
`;
}

/** The sign-in form; after a failed attempt, the error and the username tried. */
export function loginPage({ csrfToken, username = "", error }) {
  return layout({
    title: "Sign in",
    body: html`<section class="card narrow">
  <h1>Sign in</h1>
  ${error && html`<p class="error" role="alert">${error}</p>`}
  <form class="fields" method="post" action="/login">
    ${csrfField(csrfToken)}
    <label>Username
      <input name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required
        value="${username}"${username ? "" : html` autofocus`}>
    </label>
    <label>Password
      <input name="password" type="password" autocomplete="current-password" required${
      username ? html` autofocus` : ""
    }>
    </label>
    <button type="submit" class="primary">Sign in</button>
  </form>
  <p class="hint">Demo users: <code>alice</code> / <code>alice-demo-password</code>,
    <code>bob</code> / <code>bob-demo-password</code></p>
</section>`,
  });
}

function sessionItem(s, { csrfToken, now }) {
  return html`<li class="session" data-session-id="${s.id}"${s.current ? html` data-current` : ""}>
    <div class="what">
      <span class="device" title="${s.userAgent}">${s.device}</span>
      ${s.current && html`<span class="badge">This device</span>`}
    </div>
    <dl class="when">
      <div><dt>Signed in</dt><dd>${time(s.signedInAt, now)}</dd></div>
      <div><dt>Last active</dt><dd>${time(s.lastActiveAt, now)}</dd></div>
      <div><dt>Expires</dt><dd>${time(s.expiresAt, now)}</dd></div>
    </dl>
    ${
    !s.current && html`<form method="post" action="/sessions/${s.id}/end">
      ${csrfField(csrfToken)}
      <button type="submit" class="quiet danger">End session</button>
    </form>`
  }
  </li>`;
}

/**
 * The signed-in user's page: where they are signed in, this device first.
 * `sessions` as sessionViews() returns them.
 */
export function accountPage({ user, sessions, csrfToken, notice, now = new Date() }) {
  const others = sessions.filter((s) => !s.current).length;
  return layout({
    title: "Your account",
    user,
    csrfToken,
    body: html`<section class="card">
  <h1>Hello, ${user.username}</h1>
  ${notice && html`<p class="notice" role="status">${notice}</p>`}
  <h2>Where you are signed in</h2>
  <p class="hint">${sessions.length === 1 ? "1 active session" : `${sessions.length} active sessions`}.
    Ending one signs that device out on its next request.</p>
  <ul class="sessions">
    ${sessions.map((s) => sessionItem(s, { csrfToken, now }))}
  </ul>
  ${
      others > 0 && html`<form class="everywhere" method="post" action="/sessions/end-others">
    ${csrfField(csrfToken)}
    <button type="submit" class="danger">Log out everywhere else</button>
  </form>`
    }
</section>`,
  });
}

/** A short page for an error or a refusal, with the way back. */
export function messagePage({ title, message }) {
  return layout({
    title,
    body: html`<section class="card narrow">
  <h1>${title}</h1>
  <p>${message}</p>
  <p><a class="button" href="/">Back to the start page</a></p>
</section>`,
  });
}
