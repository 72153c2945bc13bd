// The doctor's pooler check: which pooler mode the connection string implies (the store's own
// rule: port 6543 or pgbouncer=true), what a probe of the connection shows, and whether that
// agrees with the app's `preparedStatements`. Named prepared statements fail through a
// transaction pooler; a pooler the URL does not reveal leaves the store sending them.
import { type Check, pass, warn } from "./doctor-check.js";
import { transactionPoolerInUrl } from "../pooler-mode.js";

/** What a probe of the connection showed (null: not probed, or it could not run). */
export interface PoolerProbe {
  /** The port the client connected to, and the one the server says it listens on (inet_server_port()). */
  clientPort: number;
  serverPort: number | null;
  /**
   * Two connections open at once had their statements run by the same server process: only a
   * pooler that hands server connections out per transaction (or statement) does that.
   */
  sharedBackend: boolean;
}

const ID = "pooler";

/** The port a postgres URL names (5432 when it names none), or null for a string that is not a URL. */
export function urlPort(dbUrl: string): number | null {
  try {
    return Number(new URL(dbUrl).port || 5432);
  } catch {
    return null;
  }
}

/**
 * The verdict. `preparedStatements` is the app's option as given to the doctor (undefined:
 * the app leaves it out, so the store chooses from the URL).
 */
export function poolerCheck(dbUrl: string, probe: PoolerProbe | null, preparedStatements?: boolean): Check {
  const fromUrl = transactionPoolerInUrl(dbUrl);
  const proxied = probe?.serverPort != null && probe.serverPort !== probe.clientPort
    ? `the server listens on ${probe.serverPort}, not ${probe.clientPort}: something pools or proxies in between`
    : null;
  const shared = probe?.sharedBackend ? "two connections at once were served by one server process" : null;
  const seen = [fromUrl, proxied, shared].filter(Boolean).join("; ");
  const transaction = fromUrl !== null || probe?.sharedBackend === true;

  if (transaction && preparedStatements === true) {
    return warn(
      ID,
      `transaction pooler (${seen}), but the app sets preparedStatements: true, which cannot work through it ` +
        "(the store refuses it)",
      "remove preparedStatements: true from the store's options: through a transaction pooler the store sends unnamed statements",
    );
  }
  if (transaction && fromUrl === null && preparedStatements !== false) {
    return warn(
      ID,
      `transaction pooler (${seen}), but the connection string does not say so (no port 6543, no pgbouncer=true): ` +
        "the store would send named prepared statements, which fail here",
      "add pgbouncer=true to the app's connection string (or transactionPooler: true to the store's options)",
    );
  }
  if (transaction) {
    return pass(ID, `transaction pooler (${seen}): the store sends unnamed statements`);
  }
  const how = proxied ? `session mode or a proxy (${proxied})` : "direct connection or session mode";
  if (preparedStatements === false) {
    return warn(
      ID,
      `${how}, but the app sets preparedStatements: false: named statements work here and cost less per call`,
      "remove preparedStatements: false from the store's options",
    );
  }
  const probed = probe ? "" : " (not probed)";
  return pass(ID, `${how}${probed}: the store uses named prepared statements`);
}
