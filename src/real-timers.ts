import { performance } from "node:perf_hooks";

/**
 * The event loop's scheduling functions as the store uses them. Test suites install fake
 * timers (sinon's, Vitest's, Jest's), usually after importing what they test: the store
 * keeps the functions it found at import time, so it never holds a handle the real
 * clearTimeout cannot clear, its callbacks are never parked on a fake queue, and its
 * touchAfter clock never mixes fake and real time. Should even those be fakes (the store
 * imported while fake timers were on), it falls back to what cannot be faked: the
 * promise job queue, or no timer at all.
 */
const importedSetTimeout = globalThis.setTimeout;
const importedClearTimeout = globalThis.clearTimeout;
const importedNextTick = process.nextTick;
const importedSetImmediate = globalThis.setImmediate;

/** Installed by @sinonjs/fake-timers (sinon, Vitest, Jest): it carries its clock. Jest's legacy fakes are mocks. */
function isFake(fn: unknown): boolean {
  return typeof fn !== "function" || "clock" in fn || "_isMockFunction" in fn;
}

function realNextTickFn(): typeof process.nextTick | undefined {
  if (!isFake(process.nextTick)) return process.nextTick;
  return isFake(importedNextTick) ? undefined : importedNextTick;
}

/**
 * Runs `fn(...args)` on the next tick (outside any promise chain, so a throw surfaces as
 * the exception it is); on a promise job when nextTick is faked for good.
 */
export function nextTick<A extends unknown[]>(fn: (...args: A) => void, ...args: A): void {
  const tick = realNextTickFn();
  if (tick) tick.call(process, fn, ...args);
  else void Promise.resolve().then(() => fn(...args));
}

/**
 * Runs `fn` once the event loop has run the I/O callbacks it has ready (the real
 * setImmediate): whatever those callbacks and the ticks and promise jobs they set off
 * start meanwhile is in place by then. When only fake setImmediates exist, after the
 * ticks and promise jobs queued so far, and those they set off, two levels deep.
 */
export function afterPendingWork(fn: () => void): void {
  const immediate = !isFake(globalThis.setImmediate)
    ? globalThis.setImmediate
    : !isFake(importedSetImmediate)
    ? importedSetImmediate
    : undefined;
  if (immediate) immediate(fn);
  else nextTick(() => nextTick(() => void Promise.resolve().then(fn)));
}

/** A real, unref'd timer, or undefined when only fake ones exist (the caller then does without). */
export function realTimeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
  const set = !isFake(globalThis.setTimeout)
    ? globalThis.setTimeout
    : !isFake(importedSetTimeout)
    ? importedSetTimeout
    : undefined;
  const timer = set?.(fn, ms);
  timer?.unref();
  return timer;
}

/** Clears a timer from realTimeout. */
export function clearRealTimeout(timer: NodeJS.Timeout | undefined): void {
  if (timer === undefined) return;
  (!isFake(globalThis.clearTimeout) ? globalThis.clearTimeout : importedClearTimeout)(timer);
}

export const monotonicNow = performance.now.bind(performance);
