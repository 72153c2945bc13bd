// The database roles a request may run as: Supabase's API roles, `anon` being
// PostgREST's anonymous role (db-anon-role).
export const ANON_ROLE = "anon";
export const API_ROLES = new Set([ANON_ROLE, "authenticated", "service_role"]);
