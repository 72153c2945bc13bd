#!/usr/bin/env node
// Builds the published package: ESM (dist/esm) and CommonJS (dist/cjs), each with
// type declarations. A package.json marker in dist/cjs tells Node its files are
// CommonJS although the project itself is "type": "module".
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { root } from "./db.mjs";

fs.rmSync(path.join(root, "dist"), { recursive: true, force: true });
for (const config of ["tsconfig.json", "tsconfig.cjs.json"]) {
  const res = spawnSync(path.join(root, "node_modules/.bin/tsc"), ["-p", config], { cwd: root, stdio: "inherit" });
  if (res.status !== 0) process.exit(res.status ?? 1);
}
fs.writeFileSync(path.join(root, "dist/cjs/package.json"), '{ "type": "commonjs" }\n');
