#!/usr/bin/env node
// `npm run build && node bench/key-cost.mjs`: what keying a session costs the store in Node,
// per call. Every get, set, touch and destroy hashes its session id once (sessionKey: hex
// SHA-256 of the id's UTF-8) before its round trip. Measured on express-session-shaped ids
// (32 characters of base64url, 24 random bytes), in rounds, so that load from elsewhere on
// the machine shows up as a spread: prints the median and the spread of the rounds.
import crypto from "node:crypto";
import { performance } from "node:perf_hooks";
import { sessionKey } from "../dist/esm/session-key.js";

const IDS = Array.from({ length: 4096 }, () => crypto.randomBytes(24).toString("base64url"));
const CALLS = 200_000;
const ROUNDS = 7;

/** CPU time (user + system) and wall time of CALLS calls of `fn`, in nanoseconds per call. */
function round(fn) {
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) sink += fn(IDS[i & 4095]).length;
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (sink !== CALLS * 64) throw new Error("a key is not 64 characters");
  return { cpuNs: ((cpu.user + cpu.system) * 1e3) / CALLS, wallNs: (wall * 1e6) / CALLS };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

round(sessionKey); // warm-up: JIT and OpenSSL's first calls
const rounds = Array.from({ length: ROUNDS }, () => round(sessionKey));
const cpu = rounds.map((r) => r.cpuNs);
const wall = rounds.map((r) => r.wallNs);
const fmt = (ns) => `${(ns / 1000).toFixed(2)} µs`;
process.stdout.write(
  `sessionKey of a 32-character id, ${ROUNDS} rounds of ${
    CALLS.toLocaleString("en")
  } calls, Node ${process.version}:\n` +
    `  CPU per call  median ${fmt(median(cpu))} (rounds ${fmt(Math.min(...cpu))} .. ${fmt(Math.max(...cpu))})\n` +
    `  wall per call median ${fmt(median(wall))} (rounds ${fmt(Math.min(...wall))} .. ${fmt(Math.max(...wall))})\n`,
);
