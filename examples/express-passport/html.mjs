// HTML from tagged template strings: every interpolated value is escaped unless it is
// itself the result of `html`, so markup is composed from pieces and text stays text.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Markup that is already safe to send: the only thing `html` interpolates unescaped. */
class Html {
  #markup;
  constructor(markup) {
    this.#markup = markup;
  }
  toString() {
    return this.#markup;
  }
}

export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function render(value) {
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join("");
  // Leaves out an attribute or a block written as `${cond && html`...`}`.
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(value);
}

/** html`<p>${text}</p>`: escapes text, keeps nested html`` and arrays of it as markup. */
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}
