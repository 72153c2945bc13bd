-- The plans the store's reads keep, on a table with no statistics (a new install, before its
-- first ANALYZE). The store's functions plan once per connection (force_generic_plan), so a
-- generic plan made then is the plan of every later call on that connection.
--
-- The table here is a copy of public.sessions with all of its indexes, and the reads are
-- live_sessions' own definition pointed at the copy: a change to either is checked. A get
-- must be a lookup by key; above all it must not read the Passport index, whose scan
-- without an index condition reads every signed-in session's entry.
begin;
select plan(6);

create temporary table sessions_copy (like public.sessions including all);

-- live_sessions, reading the copy.
create function pg_temp.live_copy() returns text language sql stable set search_path = ''
  as $$ select pg_catalog.replace(pg_catalog.rtrim(pg_catalog.pg_get_viewdef('public.live_sessions'::regclass), ';'),
                                  'public.sessions', 'pg_temp.sessions_copy') $$;

-- The generic plan of a query with one parameter of the given type, as text.
create function pg_temp.generic_plan(p_query text, p_type text, p_arg text) returns text
language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  set local plan_cache_mode = force_generic_plan;
  execute format('prepare plans_q(%s) as %s', p_type, p_query);
  for line in execute format('explain execute plans_q(%L)', p_arg) loop
    plan := plan || line || E'\n';
  end loop;
  deallocate plans_q;
  return plan;
end;
$$;

create function pg_temp.passport_index() returns text language sql stable
  as $$ select indexname::text from pg_catalog.pg_indexes
         where schemaname like 'pg_temp%' and tablename = 'sessions_copy' and indexdef like '%passport%' $$;

create function pg_temp.reads_passport_index(p_query text, p_type text, p_arg text) returns boolean
language sql as $$ select pg_temp.generic_plan(p_query, p_type, p_arg) like '%' || pg_temp.passport_index() || '%' $$;

select isnt(pg_temp.passport_index(), null, 'the copy has the Passport index');

select ok(not pg_temp.reads_passport_index(
            'select * from (' || pg_temp.live_copy() || ') l where l.sid = $1', 'text', 'a'),
  'empty table: a get of one session does not read the Passport index');
select ok(not pg_temp.reads_passport_index(
            'select * from (' || pg_temp.live_copy() || ') l where l.sid = any ($1)', 'text[]', '{a,b}'),
  'empty table: a get of several sessions does not read the Passport index');

insert into sessions_copy (sid, data, expires_at)
select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('plans-' || n, 'UTF8')), 'hex'),
       case when n % 2 = 0 then jsonb_build_object('cookie', '{}'::jsonb)
            else jsonb_build_object('cookie', '{}'::jsonb, 'passport', jsonb_build_object('user', 'u' || n % 100)) end,
       now() + interval '1 day'
  from generate_series(1, 20000) n;

select ok(not pg_temp.reads_passport_index(
            'select * from (' || pg_temp.live_copy() || ') l where l.sid = $1', 'text', 'a'),
  '20,000 sessions, no statistics: a get of one session does not read the Passport index');
select ok(not pg_temp.reads_passport_index(
            'select * from (' || pg_temp.live_copy() || ') l where l.sid = any ($1)', 'text[]', '{a,b}'),
  '20,000 sessions, no statistics: a get of several sessions does not read the Passport index');

-- What the index is for: session_list_user's and session_destroy_user's condition.
select ok(pg_temp.reads_passport_index(
            'select s.sid from pg_temp.sessions_copy s where (s.data #>> ''{passport,user}'') = $1
               and s.destroyed_at is null and s.expires_at > now()', 'text', 'u1'),
  'a lookup of a user''s sessions reads the Passport index');

select * from finish();
rollback;
