// Where this package's own files are: the migrations it ships sit next to dist/ in the
// installed package (and in this repository). Both builds compile this file: the
// CommonJS one has __dirname, the ESM one only import.meta, which CommonJS cannot even
// parse, so the ESM build asks V8 for the file this code runs from instead.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The folder of this compiled module. */
function moduleDir(): string {
  if (typeof __dirname === "string") return __dirname;
  const prepare = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_err, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    const file = sites[0]?.getFileName();
    if (!file) throw new Error("cannot tell where supabase-session-store is installed");
    return path.dirname(file.startsWith("file:") ? fileURLToPath(file) : file);
  } finally {
    Error.prepareStackTrace = prepare;
  }
}

/** The package's supabase/migrations folder: the nearest one above this module. */
export function migrationsDir(): string {
  for (let dir = moduleDir(); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "supabase", "migrations");
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error("the package's supabase/migrations folder is missing");
  }
}
