// Closed-loop load: C callers, each starting its next operation as soon as the last
// one settles (as C busy request handlers would), a warm-up, then a fixed window in
// which every operation's latency is recorded.
import { performance } from "node:perf_hooks";

/** The q-quantile (0..1) of an ascending array, nearest rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Merges samples ({ latencies, seconds, totalOps, cpuMicros }: one measuring window each)
 * into ops/s, p50 and p99 (ms) over all their windows.
 */
export function summarize(samples) {
  const count = samples.reduce((n, s) => n + s.latencies.length, 0);
  const sorted = new Float64Array(count);
  let at = 0;
  for (const s of samples) {
    sorted.set(s.latencies, at);
    at += s.latencies.length;
  }
  sorted.sort();
  const sum = (key) => samples.reduce((n, s) => n + (s[key] ?? NaN), 0);
  return {
    ops: count,
    totalOps: sum("totalOps"),
    opsPerSec: count / sum("seconds"),
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    // This process's CPU time (user + system) per operation in the windows: the client's own cost.
    cpuMicrosPerOp: sum("cpuMicros") / count,
  };
}

/**
 * Runs `op()` from `concurrency` callers for warmupMs, then for windowMs recording latencies,
 * and resolves with the window's sample (see summarize; without latencies when `record` is false,
 * so that a long run holds no growing array). Any failed operation fails the run:
 * a benchmark that hides errors measures nothing.
 */
export async function closedLoop(op, { concurrency, warmupMs, windowMs, record = true }) {
  const latencies = [];
  let totalOps = 0;
  let measuring = false;
  let stopping = false;
  let windowStart = 0;
  let windowEnd = 0;
  let cpuAtStart;
  let cpu = NaN;

  const caller = async () => {
    while (!stopping) {
      const t0 = performance.now();
      await op();
      const t1 = performance.now();
      totalOps++;
      // Only operations that start and end inside the window count.
      if (record && measuring && t0 >= windowStart && t1 <= windowEnd) latencies.push(t1 - t0);
    }
  };

  const timer = (async () => {
    await sleep(warmupMs);
    windowStart = performance.now();
    windowEnd = windowStart + windowMs;
    measuring = true;
    cpuAtStart = process.cpuUsage();
    await sleep(windowMs);
    const used = process.cpuUsage(cpuAtStart);
    cpu = used.user + used.system;
    stopping = true;
  })();
  const callers = Array.from({ length: concurrency }, caller);
  try {
    await Promise.all(callers);
  } finally {
    stopping = true;
    await timer;
  }
  return { latencies, seconds: windowMs / 1000, totalOps, cpuMicros: cpu };
}

/** `requests` calls of `op()` from `concurrency` callers, each starting the next as the last settles. */
export async function fixedLoop(op, { concurrency, requests }) {
  let started = 0;
  const caller = async () => {
    while (started < requests) {
      started++;
      await op();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
}

/** A background loop of `op()` from `concurrency` callers until `stop()`, recording every latency. */
export function backgroundLoop(op, concurrency) {
  const latencies = [];
  let stopping = false;
  let failure;
  const startedAt = performance.now();
  const caller = async () => {
    while (!stopping) {
      const t0 = performance.now();
      await op();
      latencies.push(performance.now() - t0);
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, caller)).catch((err) => {
    failure = err;
    stopping = true;
  });
  return {
    async stop() {
      stopping = true;
      await done;
      if (failure) throw failure;
      return summarize([{ latencies, seconds: (performance.now() - startedAt) / 1000, totalOps: latencies.length }]);
    },
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
