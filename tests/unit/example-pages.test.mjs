// The example app's page building blocks, without a server: HTML escaping and the
// device names of the account page.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeDevice } from "../../examples/express-passport/device.mjs";
import { html } from "../../examples/express-passport/html.mjs";

describe("html``", () => {
  test("escapes every interpolated value, in text and in attributes", () => {
    const value = `<script>"x" & 'y'</script>`;
    assert.equal(
      String(html`<p title="${value}">${value}</p>`),
      `<p title="&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;">` +
        `&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;</p>`,
    );
  });

  test("keeps nested html`` and arrays of it as markup, escaping only their values, once", () => {
    const items = ["a&b", "<c>"].map((s) => html`<li>${s}</li>`);
    assert.equal(String(html`<ul>${items}</ul>`), "<ul><li>a&amp;b</li><li>&lt;c&gt;</li></ul>");
  });

  test("null, undefined and false render nothing; 0 and other values render as text", () => {
    assert.equal(String(html`[${null}${undefined}${false}${0}${true}]`), "[0true]");
  });

  test("a plain string is never markup, even one that looks like html`` output", () => {
    const fake = { toString: () => "<b>not trusted</b>" };
    assert.equal(String(html`${fake}`), "&lt;b&gt;not trusted&lt;/b&gt;");
  });
});

describe("describeDevice", () => {
  for (
    const [userAgent, expected] of [
      [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
        "Chrome 156 on Linux",
      ],
      [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 " +
        "Safari/537.36 Edg/131.0.0.0",
        "Edge 131 on Windows",
      ],
      [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " +
        "Version/18.1 Mobile/15E148 Safari/604.1",
        "Safari 18 on iOS",
      ],
      [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 " +
        "Safari/605.1.15",
        "Safari 18 on macOS",
      ],
      [
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile " +
        "Safari/537.36",
        "Chrome 131 on Android",
      ],
      ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on Windows"],
      ["curl/8.5.0", "curl 8.5.0"],
      ["node", "Node.js"],
      ["", "Unknown device"],
      [undefined, "Unknown device"],
      ["<img src=x>", "Unknown device"],
    ]
  ) {
    test(`${JSON.stringify(userAgent)?.slice(0, 60) ?? "undefined"} -> ${expected}`, () => {
      assert.equal(describeDevice(userAgent), expected);
    });
  }
});
