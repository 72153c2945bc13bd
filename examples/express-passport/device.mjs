// A short, human name for the device behind a User-Agent header ("Firefox 133 on
// Windows"), for the account page's list of sessions. A guess from a string the client
// chose: shown to the user, never used for a decision.

// First match wins: Edge and Opera also say Chrome, Chrome also says Safari, iOS and
// Android also say Mac OS X and Linux.
const BROWSERS = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, "Edge"],
  [/\bOPR\/(\d+)/, "Opera"],
  [/\bFirefox\/(\d+)/, "Firefox"],
  [/\bFxiOS\/(\d+)/, "Firefox"],
  [/\bCriOS\/(\d+)/, "Chrome"],
  [/\bHeadlessChrome\/(\d+)/, "Headless Chrome"],
  [/\bChrome\/(\d+)/, "Chrome"],
  [/\bVersion\/(\d+)(?:\.\d+)*(?: Mobile\/\w+)? Safari\//, "Safari"],
  [/^curl\/([\d.]+)/, "curl"],
  [/^node(?:-fetch)?\b/i, "Node.js"],
];
const SYSTEMS = [
  [/\b(?:iPhone|iPad|iPod)\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bWindows\b/, "Windows"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

function firstMatch(table, userAgent) {
  for (const [pattern, name] of table) {
    const m = userAgent.match(pattern);
    if (m) return m[1] ? `${name} ${m[1]}` : name;
  }
  return undefined;
}

/** "Chrome 156 on Linux", "curl 8.5.0", "Unknown device". */
export function describeDevice(userAgent) {
  if (typeof userAgent !== "string" || userAgent.trim() === "") return "Unknown device";
  const browser = firstMatch(BROWSERS, userAgent);
  const system = firstMatch(SYSTEMS, userAgent);
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? "Unknown device";
}
