// The schema cache, as PostgREST keeps one: the callable functions of the exposed
// schemas (name, named inputs, return kind) and the API roles' own settings, loaded
// from pg_catalog, reloaded once when a call finds no function.
import { pgrstError } from "./errors.mjs";
import { API_ROLES } from "./roles.mjs";

const FUNCTIONS_SQL = `
select n.nspname as schema,
       p.proname as name,
       p.proretset as "returnsSet",
       p.prorettype = 'pg_catalog.void'::pg_catalog.regtype as "returnsVoid",
       p.pronargdefaults as "defaults",
       coalesce((select pg_catalog.json_agg(pg_catalog.json_build_object(
                          'name', a.name, 'type', pg_catalog.format_type(a.type, null)) order by a.n)
                   from unnest(coalesce(p.proallargtypes, p.proargtypes::pg_catalog.oid[]),
                                          coalesce(p.proargnames, '{}'),
                                          coalesce(p.proargmodes, pg_catalog.array_fill('i'::"char", array[p.pronargs])))
                        with ordinality as a(type, name, mode, n)
                  where a.mode in ('i', 'b')), '[]') as inputs
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
 where n.nspname = any($1)
   and p.prokind = 'f'
   and not ('v' = any(coalesce(p.proargmodes, '{}')))`;

const ROLE_SETTINGS_SQL = `
select r.rolname as role, s.setconfig as config
  from pg_catalog.pg_db_role_setting s
  join pg_catalog.pg_roles r on r.oid = s.setrole
 where r.rolname = any($1)
   and s.setdatabase in (0, (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()))
 order by s.setdatabase`;

/** The schema cache's key of a function. */
const functionKey = (schema, name) => JSON.stringify([schema, name]);

async function loadSchemaCache(pool, schemas) {
  const [functions, settings] = await Promise.all([
    pool.query(FUNCTIONS_SQL, [schemas]),
    pool.query(ROLE_SETTINGS_SQL, [[...API_ROLES]]),
  ]);
  const byName = new Map();
  for (const fn of functions.rows) {
    // Only functions whose every input has a name can be called with named arguments.
    if (fn.inputs.some((input) => !input.name)) continue;
    fn.required = fn.inputs.slice(0, fn.inputs.length - fn.defaults).map((input) => input.name);
    const key = functionKey(fn.schema, fn.name);
    byName.set(key, [...(byName.get(key) ?? []), fn]);
  }
  const roleSettings = new Map([...API_ROLES].map((role) => [role, new Map()]));
  for (const { role, config } of settings.rows) {
    for (const entry of config) {
      const at = entry.indexOf("=");
      roleSettings.get(role).set(entry.slice(0, at), entry.slice(at + 1));
    }
  }
  return { byName, roleSettings };
}

function matchingFunctions(cache, schema, name, argNames) {
  return (cache.byName.get(functionKey(schema, name)) ?? []).filter((fn) =>
    argNames.every((arg) => fn.inputs.some((input) => input.name === arg)) &&
    fn.required.every((arg) => argNames.includes(arg))
  );
}

function functionNotFound(cache, schema, name, argNames) {
  const qualified = `${schema}.${name}`;
  const listed = argNames.length ? `(${argNames.join(", ")})` : " without parameters";
  const searched = argNames.length
    ? ` with parameter${argNames.length > 1 ? "s" : ""} ${argNames.join(", ")}`
    : " without parameters";
  const overload = cache.byName.get(functionKey(schema, name))?.[0];
  return pgrstError(404, "PGRST202", `Could not find the function ${qualified}${listed} in the schema cache`, {
    details:
      `Searched for the function ${qualified}${searched} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
    hint: overload
      ? `Perhaps you meant to call the function ${qualified}(${overload.inputs.map((i) => i.name).sort().join(", ")})`
      : null,
  });
}

function ambiguousFunction(schema, name, candidates) {
  const signatures = candidates.map((fn) =>
    `${schema}.${name}(${fn.inputs.map((i) => `${i.name} => ${i.type}`).join(", ")})`
  );
  return pgrstError(300, "PGRST203", `Could not choose the best candidate function between: ${signatures.join(", ")}`, {
    hint: "Try renaming the parameters or the function itself in the database so function overloading can be resolved",
  });
}

/**
 * A schema cache over `pool` for the exposed `schemas`. Its `resolveFunction` finds the
 * one function a call means, with the API roles' settings, or throws PostgREST's error.
 */
export function createSchemaCache(pool, schemas) {
  let schemaCache;
  async function schema({ reload = false } = {}) {
    if (!schemaCache || reload) {
      const loading = loadSchemaCache(pool, schemas);
      schemaCache = loading;
      loading.catch(() => {
        if (schemaCache === loading) schemaCache = undefined;
      });
    }
    try {
      return await schemaCache;
    } catch (err) {
      process.stderr.write(`[gateway] schema cache load failed: ${err.message}\n`);
      throw pgrstError(503, "PGRST002", "Could not query the database for the schema cache. Retrying.");
    }
  }

  async function resolveFunction(inSchema, name, argNames) {
    let cache = await schema();
    let candidates = matchingFunctions(cache, inSchema, name, argNames);
    if (candidates.length === 0) {
      cache = await schema({ reload: true });
      candidates = matchingFunctions(cache, inSchema, name, argNames);
    }
    if (candidates.length === 0) throw functionNotFound(cache, inSchema, name, argNames);
    if (candidates.length > 1) throw ambiguousFunction(inSchema, name, candidates);
    return { fn: candidates[0], roleSettings: cache.roleSettings };
  }

  return { resolveFunction };
}
