#!/usr/bin/env node
// Runs the built doctor as a process: `node tests/node/support/run-doctor.mjs <args>`,
// exiting with its exit code (the package's CLI dispatcher does the same).
import { runDoctor } from "../../../dist/esm/cli/doctor.js";

const code = await runDoctor(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
});
process.exitCode = code;
