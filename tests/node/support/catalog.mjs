// A text fingerprint of what a schema's catalog holds: every function (its whole
// definition, comment and privileges), table and view (columns, definition, comment,
// privileges, RLS), constraint, index and trigger, one sorted line each. Two databases
// with the same fingerprint define the same objects in the same way, whichever
// migrations built them.

const FINGERPRINT = `
  select 'function ' || p.oid::regprocedure::text || E'\\n' || pg_get_functiondef(p.oid)
         || E'\\ncomment: ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
         || E'\\nacl: ' || coalesce(p.proacl::text, '-') as line
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = $1
  union all
  select 'relation ' || c.relname || ' kind ' || c.relkind::text || ' rls ' || c.relrowsecurity::text
         || ' acl ' || coalesce(c.relacl::text, '-')
         || ' options ' || coalesce(c.reloptions::text, '-')
         || E'\\ncomment: ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
         || case when c.relkind = 'v' then E'\\n' || pg_get_viewdef(c.oid) else '' end
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'S')
  union all
  select 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' position ' || a.attnum || case when a.attnotnull then ' not null' else '' end
         || ' default ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
   where n.nspname = $1 and c.relkind in ('r', 'v') and a.attnum > 0 and not a.attisdropped
  union all
  select 'constraint ' || c.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
    from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = $1
  union all
  select 'index ' || pg_get_indexdef(i.indexrelid)
    from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = $1
  union all
  select 'trigger ' || pg_get_triggerdef(t.oid)
    from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = $1 and not t.tgisinternal
  order by 1`;

/** The fingerprint of `schema` (default public) as seen by `client` (a pg Client or Pool). */
export async function catalogFingerprint(client, schema = "public") {
  const { rows } = await client.query(FINGERPRINT, [schema]);
  return rows.map((r) => r.line);
}
