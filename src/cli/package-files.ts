// Where this package's own files are. This module is dist/esm/cli/package-files.js in the
// installed package (the command line is ESM only), and the migrations ship beside dist/.
import { fileURLToPath } from "node:url";

/** The package's supabase/migrations folder. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../supabase/migrations/", import.meta.url));

/** The package's cleanup Edge Function, as a Supabase project's supabase/functions/ holds it. */
export const FUNCTION_DIR = fileURLToPath(new URL("../../../functions/cleanup-sessions/", import.meta.url));
