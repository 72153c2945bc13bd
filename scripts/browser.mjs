// A headless Chromium for the example app's browser tests and screenshots: Debian's
// `chromium` package driven by puppeteer-core (which downloads no browser), with a fresh
// profile each launch. Each device() is a browser context: its own cookie jar, so two
// devices are two users' browsers, or one user's laptop and phone.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox", // Chromium's sandbox refuses to run as root, which CI does
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Launches Chromium; `device()` opens a page in a new context, with JavaScript off unless
 * asked (the app must work without it). `close()` ends the browser and removes its profile.
 */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium), see .ci/run`);
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "example-app-chromium-"));
  let browser;
  try {
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, userDataDir, args: ARGS });
  } catch (err) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    browser,
    async device({ userAgent, javaScript = false, viewport = { width: 1024, height: 768 } } = {}) {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      await page.setJavaScriptEnabled(javaScript);
      await page.setViewport(viewport);
      if (userAgent) await page.setUserAgent(userAgent);
      return page;
    },
    async close() {
      await browser.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
