// What every database check of the doctor shares: the SQL it reads through, the context
// of a run, the housekeeping thresholds, and the small helpers of its summaries.
import type { Expectations } from "./doctor-expectations.js";

export type Row = Record<string, unknown>;
export type Sql = (text: string, values?: unknown[]) => Promise<Row[]>;

/** Housekeeping thresholds (documented under doctor in docs/operating.md). */
export const THRESHOLDS = {
  /** More expired rows waiting than one default cleanup batch deletes. */
  expiredBacklog: 10_000,
  /** An expired row this old means the hourly cleanup has not run (or not kept up). */
  expiredAgeHours: 2,
  /** Destroyed sessions kept as tombstones (a day each). */
  tombstones: 100_000,
  /** The table with its indexes and TOAST. */
  tableBytes: 1024 ** 3,
  /** No cleanup run for this long is a warning. */
  cleanupRunHours: 2,
} as const;

export interface Context {
  sql: Sql;
  schema: string;
  expected: Expectations;
  user: string;
  /**
   * The package's table names that exist in the schema as someone else's table (a `public.sessions`
   * of the user's own, without the package's columns): never to be altered on the package's behalf.
   */
  foreign?: Set<string>;
  /** Other schemas holding the package's cleanup dispatch: where it is installed instead. */
  elsewhere?: string[];
}

/** `init`, then the push that applies what init wrote, for the schema the doctor looks at. */
export const pushFix = (schema: string): string =>
  `npx supabase-session-store init${schema === "public" ? "" : ` --schema ${schema}`} && ` +
  'npx supabase db push --db-url "$DATABASE_URL" --yes';

export const count = (v: unknown): number => Number(v ?? 0);
export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
export const list = (names: string[], max = 6): string =>
  names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
