import { performance } from "node:perf_hooks";

/**
 * The timer functions as they were when this module loaded. Test suites install fake
 * timers (sinon's, Vitest's, Jest's) after importing what they test; the store keeps to
 * these, so it never holds a handle the real clearTimeout cannot clear, its callbacks are
 * never parked on a fake queue, and its touchAfter clock never mixes fake and real time.
 */
export const realSetTimeout = globalThis.setTimeout;
export const realClearTimeout = globalThis.clearTimeout;
export const realNextTick = process.nextTick.bind(process);
export const monotonicNow = performance.now.bind(performance);
