// Connection health: the `disconnect` and `connect` events express-session listens for,
// and the probe that notices the database coming back.
import { isConnectionError } from "./errors.js";
import { clearRealTimeout, realTimeout } from "./real-timers.js";

const PROBE_FIRST_DELAY_MS = 1_000;
const PROBE_MAX_DELAY_MS = 30_000;

export interface ConnectionHealthOptions {
  /** Emits `disconnect` or `connect` (the store's own events). */
  emit: (event: "disconnect" | "connect") => void;
  /** A cheap call to the database; its success or failure is reported back through noteSuccess/noteFailure. */
  probe: () => Promise<unknown>;
}

/**
 * Whether the store is connected, from the outcome of each call: a connection error
 * disconnects it (once), any success connects it again (once).
 */
export class ConnectionHealth {
  readonly #emit: ConnectionHealthOptions["emit"];
  readonly #probeCall: ConnectionHealthOptions["probe"];
  #connected = true;
  #stopped = false;
  #probe: NodeJS.Timeout | undefined;
  #probeDelay = PROBE_FIRST_DELAY_MS;

  constructor({ emit, probe }: ConnectionHealthOptions) {
    this.#emit = emit;
    this.#probeCall = probe;
  }

  get connected(): boolean {
    return this.#connected;
  }

  noteSuccess(): void {
    if (this.#connected) return;
    this.#connected = true;
    this.#cancelProbe();
    this.#probeDelay = PROBE_FIRST_DELAY_MS;
    this.#emit("connect");
  }

  noteFailure(err: unknown): void {
    if (!isConnectionError(err) || !this.#connected) return;
    this.#connected = false;
    this.#emit("disconnect");
    this.#scheduleProbe();
  }

  /** Stops the probe for good (the store is closing). */
  stop(): void {
    this.#stopped = true;
    this.#cancelProbe();
  }

  #cancelProbe(): void {
    clearRealTimeout(this.#probe);
    this.#probe = undefined;
  }

  /**
   * While disconnected, express-session stops calling the store, so nothing would ever
   * notice the database coming back: probe it with a cheap lookup, backing off, on an
   * unref'd timer that never keeps the process alive (a real one: where only fake timers
   * exist there is no probe, and the application's next call notices the database back).
   */
  #scheduleProbe(): void {
    if (this.#stopped || this.#connected) return;
    this.#probe = realTimeout(() => {
      this.#probe = undefined;
      this.#probeCall().catch(() => {
        this.#probeDelay = Math.min(this.#probeDelay * 2, PROBE_MAX_DELAY_MS);
        this.#scheduleProbe();
      });
    }, this.#probeDelay);
  }
}
