#!/usr/bin/env node
// The package's command (`npx supabase-session-store --help`); the CLI itself is
// src/cli/main.ts, built into dist/esm.
import { main } from "../dist/esm/cli/main.js";

process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
});
