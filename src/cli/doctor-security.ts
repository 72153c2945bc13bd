// The doctor's security checks: row level security on the package's tables, no privilege
// for the API roles (or PUBLIC) on any of its objects, service_role's grants exactly as the
// migrations make them, and every function pinning search_path, none SECURITY DEFINER.
import { type Check, fail, pass } from "./doctor-check.js";
import { type Context, list, plural, type Row } from "./doctor-context.js";

/** The API roles that must reach nothing session related; PUBLIC is every role. */
const API_ROLES = ["anon", "authenticated"];

/** The package's tables and functions as they exist now (their oids and SQL names). */
async function ourObjects(ctx: Context) {
  const tables = await ctx.sql(
    `select c.oid, c.relname, c.oid::pg_catalog.regclass::text as sql_name, c.relrowsecurity
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any ($2) and c.relkind in ('r', 'p')`,
    [ctx.schema, [...ctx.expected.tables.keys()]],
  );
  const functions = await ctx.sql(
    `select p.oid, p.proname, p.oid::pg_catalog.regprocedure::text as sql_name, p.prosecdef,
            exists (select from pg_catalog.unnest(p.proconfig) c where c like 'search\\_path=%') as pinned
       from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1 and p.proname = any ($2) order by 3`,
    [ctx.schema, [...ctx.expected.functions.keys()]],
  );
  // A table of the user's own under the package's name is theirs to secure, not the doctor's to alter.
  return { tables: tables.filter((t) => !ctx.foreign?.has(String(t.relname))), functions };
}

export async function security(ctx: Context): Promise<Check[]> {
  const { tables, functions } = await ourObjects(ctx);
  const roleRows = await ctx.sql("select rolname from pg_catalog.pg_roles where rolname = any ($1)", [[
    ...API_ROLES,
    "service_role",
  ]]);
  const roles = new Set(roleRows.map((r) => String(r.rolname)));
  const apiRoles = [...API_ROLES.filter((r) => roles.has(r)), "public"];
  // Nothing there to secure: the schema check has already failed.
  if (!tables.length && !functions.length) return [];
  const checks: Check[] = [];

  const noRls = tables.filter((t) => !t.relrowsecurity);
  checks.push(
    noRls.length
      ? fail(
        "security.rls",
        `row level security is off on ${list(noRls.map((t) => String(t.sql_name)))}`,
        ...noRls.map((t) => `alter table ${t.sql_name} enable row level security;`),
      )
      : pass("security.rls", `row level security is on (${plural(tables.length, "table")})`),
  );

  // Table and column privileges both count: a column grant reads sids as well as a table grant.
  const leaks = await ctx.sql(
    `select r.role, t.sql_name, 'table' as kind
       from unnest($1::text[]) r(role), unnest($2::oid[], $3::text[]) t(oid, sql_name)
      where pg_catalog.has_table_privilege(r.role, t.oid, 'select,insert,update,delete,truncate,references,trigger')
         or pg_catalog.has_any_column_privilege(r.role, t.oid, 'select,insert,update,references')
     union all
     select r.role, f.sql_name, 'function'
       from unnest($1::text[]) r(role), unnest($4::oid[], $5::text[]) f(oid, sql_name)
      where pg_catalog.has_function_privilege(r.role, f.oid, 'execute')
      order by 1, 3, 2`,
    [
      apiRoles,
      tables.map((t) => t.oid),
      tables.map((t) => t.sql_name),
      functions.map((f) => f.oid),
      functions.map((f) => f.sql_name),
    ],
  );
  const who = apiRoles.map((r) => (r === "public" ? "PUBLIC" : r)).join(", ");
  checks.push(
    leaks.length
      ? fail(
        "security.api-roles",
        `reachable by API roles: ${
          list(leaks.map((l) => `${l.role === "public" ? "PUBLIC" : l.role} on ${l.sql_name}`))
        }`,
        ...leaks.map((l) => `revoke all on ${l.kind} ${l.sql_name} from ${l.role};`),
      )
      : pass("security.api-roles", `${who}: no privilege on the table or any session function`),
  );

  if (roles.has("service_role")) checks.push(await serviceRole(ctx, tables, functions));

  const unpinned = functions.filter((f) => !f.pinned);
  const definer = functions.filter((f) => f.prosecdef);
  checks.push(
    unpinned.length || definer.length
      ? fail(
        "security.functions",
        [
          unpinned.length && `search_path not pinned: ${list(unpinned.map((f) => String(f.sql_name)))}`,
          definer.length && `SECURITY DEFINER: ${list(definer.map((f) => String(f.sql_name)))}`,
        ].filter(Boolean)
          .join("; "),
        ...unpinned.map((f) => `alter function ${f.sql_name} set search_path = '';`),
        ...definer.map((f) => `alter function ${f.sql_name} security invoker;`),
      )
      : pass("security.functions", `all ${functions.length} functions pin search_path, none is SECURITY DEFINER`),
  );
  return checks;
}

/** service_role (the store's and the function's role) has what the migrations grant it, and nothing they revoke. */
async function serviceRole(ctx: Context, tables: Row[], functions: Row[]): Promise<Check> {
  const wrong: string[] = [];
  const fixes: string[] = [];
  for (const t of tables) {
    const name = String(t.sql_name).replace(/^.*\./, "").replace(/"/g, "");
    const wanted = ctx.expected.serviceRoleTable.get(name) ?? [];
    if (!wanted.length) continue;
    const rows = await ctx.sql(
      "select p from pg_catalog.unnest($2::text[]) p where not pg_catalog.has_table_privilege('service_role', $1::oid, p)",
      [t.oid, wanted],
    );
    if (rows.length) {
      wrong.push(`cannot ${rows.map((r) => r.p).join("/")} ${t.sql_name}`);
      fixes.push(`grant ${wanted.join(", ")} on table ${t.sql_name} to service_role;`);
    }
  }
  for (const f of functions) {
    const wanted = ctx.expected.serviceRoleExecute.get(String(f.proname));
    if (wanted === undefined) continue;
    const [row] = await ctx.sql("select pg_catalog.has_function_privilege('service_role', $1::oid, 'execute') as ok", [
      f.oid,
    ]);
    if (Boolean(row?.ok) === wanted) continue;
    wrong.push(wanted ? `cannot execute ${f.sql_name}` : `can execute ${f.sql_name} (owner only)`);
    fixes.push(
      `${wanted ? "grant" : "revoke"} execute on function ${f.sql_name} ${wanted ? "to" : "from"} service_role;`,
    );
  }
  return wrong.length
    ? fail("security.service-role", `service_role ${list(wrong)}`, ...fixes)
    : pass("security.service-role", "service_role has exactly the privileges the migrations grant");
}
