-- The SQL functions the express-session store calls: one call per store operation,
-- each a single statement or a short PL/pgSQL body (plans cached per connection),
-- so the pg backend and the supabase-js backend (PostgREST RPC) share one logic.
-- SECURITY INVOKER: the caller needs service_role (or ownership) anyway.
--
-- Times come from the database clock, now(), only.
--
-- The rules, each the same in every function that applies it:
--   live: public.live_sessions (not destroyed, not expired on the database clock);
--   a save never revives a tombstone (destroyed_at set): outcome 'destroyed';
--   a save whose expiry is already past deletes the session: outcome 'expired';
--   a touch moves only the expiry of a live session, and only by p_touch_after or more.
--
-- Two forms of each writer. The scalar *_one functions are what a lone operation calls: at
-- low concurrency most calls carry one session, and one-element arrays and their unnest
-- cost a durable write 6-10% (pgbench, -M prepared). The batch functions (session_save,
-- session_touch, session_write) answer the writes of concurrent requests in one round trip
-- as set-based statements: written as loops over the *_one functions, each iteration paid
-- a PL/pgSQL call and its SET clauses, and under load that call, not the write, was most
-- of the work (an A/B with the bench's session and closed loop, pg backend: touch 18,000
-- -> 23,600/s and set 14,500 -> 17,200/s at C = 32; touch 9,100 -> 10,600/s and set 8,400
-- -> 9,600/s at C = 8). supabase/tests/database/batch_writes.test.sql runs every case
-- through both forms and requires the same outcome and the same row, so they cannot drift.
--
-- Lock order: every multi-row writer here first locks the rows it writes in sid order, so
-- two stores writing overlapping batches never deadlock.
--
-- The writers set updated_at = now() themselves, so the updated_at trigger does not fire
-- for them (see 20261201000000_sessions_table.sql).
--
-- The per-request functions plan their statements once per connection
-- (plan_cache_mode = force_generic_plan). PL/pgSQL caches each statement's plan, but a
-- statement with parameters is planned afresh on every call for as long as the planner
-- rates its generic plan costlier than the custom ones it made, and for array-driven
-- statements that is forever: planning then cost as much as running them (pgbench, one
-- session per call: session_get went from about 10,000 to 19,000 calls/s, session_touch
-- from 3,400 to 6,500). Their generic plans are the same primary-key lookups the custom
-- plans were.

-- The live session p_sid, or no row.
create function public.session_get_one(p_sid text)
returns table (sid text, data jsonb, expires_at timestamptz)
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
    select l.sid, l.data, l.expires_at from public.live_sessions l where l.sid = p_sid;
end;
$$;

comment on function public.session_get_one(text) is
  'The live session p_sid (sid, data, expiry), or no row.';

-- The live sessions among p_sids (at most 1000): sid, data and expiry; nothing for an
-- expired, destroyed or unknown one. Taking several ids lets the store answer the gets
-- of concurrent requests with one round trip.
create function public.session_get(p_sids text[])
returns table (sid text, data jsonb, expires_at timestamptz)
language plpgsql
stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
  if coalesce(cardinality(p_sids), 0) > 1000 then
    raise exception 'at most 1000 session ids per call, got %', cardinality(p_sids) using errcode = '22023';
  end if;
  return query
    select l.sid, l.data, l.expires_at from public.live_sessions l where l.sid = any (p_sids);
end;
$$;

comment on function public.session_get(text[]) is
  'The live sessions among p_sids (at most 1000): sid, data and expiry; no row for an expired, destroyed or unknown id.';

-- Stores session p_sid with data p_data and expiry p_expires_at (or, when null, now() +
-- p_ttl_seconds on the database clock). Returns what happened:
--   'stored'    the session now has this data and expiry;
--   'expired'   the expiry is already past: the session was deleted instead;
--   'destroyed' the session was destroyed (a tombstone): it stays destroyed, nothing stored.
-- p_durable = false commits this write asynchronously (synchronous_commit off for this
-- transaction only): a database crash may lose the last fraction of a second of such
-- writes, never corrupt anything.
create function public.session_save_one(p_sid text, p_data jsonb, p_expires_at timestamptz,
                                        p_ttl_seconds double precision default null,
                                        p_durable boolean default true)
returns text
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  expiry timestamptz := coalesce(p_expires_at, now() + make_interval(secs => p_ttl_seconds));
begin
  if p_sid is null or p_sid = '' then
    raise exception 'session id must be a non-empty string' using errcode = '22023';
  end if;
  if expiry is null then
    raise exception 'session expiry must not be null' using errcode = '22023';
  end if;
  if not coalesce(p_durable, true) then
    perform pg_catalog.set_config('synchronous_commit', 'off', true);
  end if;
  if expiry <= now() then
    delete from public.sessions s where s.sid = p_sid and s.destroyed_at is null;
    return 'expired';
  end if;
  insert into public.sessions as s (sid, data, expires_at)
  values (p_sid, p_data, expiry)
  on conflict on constraint sessions_pkey do update
     set data = excluded.data,
         expires_at = excluded.expires_at,
         updated_at = now()
   where s.destroyed_at is null;
  return case when found then 'stored' else 'destroyed' end;
end;
$$;

comment on function public.session_save_one(text, jsonb, timestamptz, double precision, boolean) is
  'Stores one session (upsert); an expiry already past deletes it; a destroyed session is never revived. Returns stored, expired or destroyed.';

-- The batch form of session_save_one, one set-based statement: p_sids[i] gets the JSON
-- object p_data[i] (p_data is a JSON array) and the expiry p_expires_at[i]; returns each
-- distinct sid with its outcome, as session_save_one would. A sid given twice takes its
-- last entry. At most 1000 per call.
create function public.session_save(p_sids text[], p_data jsonb, p_expires_at timestamptz[],
                                    p_ttl_seconds double precision default null,
                                    p_durable boolean default true)
returns table (sid text, outcome text)
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  n integer := coalesce(cardinality(p_sids), 0);
begin
  if n > 1000 then
    raise exception 'at most 1000 session ids per call, got %', n using errcode = '22023';
  end if;
  if pg_catalog.jsonb_typeof(p_data) is distinct from 'array'
     or pg_catalog.jsonb_array_length(p_data) <> n
     or coalesce(cardinality(p_expires_at), 0) <> n then
    raise exception 'p_sids, p_data (a JSON array) and p_expires_at must have the same length'
      using errcode = '22023';
  end if;
  if array_position(p_sids, null) is not null or array_position(p_sids, '') is not null then
    raise exception 'session id must be a non-empty string' using errcode = '22023';
  end if;
  if p_ttl_seconds is null and array_position(p_expires_at, null) is not null then
    raise exception 'session expiry must not be null' using errcode = '22023';
  end if;
  if not coalesce(p_durable, true) then
    perform pg_catalog.set_config('synchronous_commit', 'off', true);
  end if;
  perform from public.sessions s where s.sid = any (p_sids) order by s.sid for update;
  return query
    with input as (
      -- A sid given twice takes its last entry.
      select distinct on (u.sid) u.sid, p_data -> (u.pos - 1)::integer as data,
             coalesce(u.expires_at, now() + make_interval(secs => p_ttl_seconds)) as expiry
        from unnest(p_sids, p_expires_at) with ordinality as u(sid, expires_at, pos)
       order by u.sid, u.pos desc),
    expired as (
      delete from public.sessions s
       using input i
       where s.sid = i.sid and i.expiry <= now() and s.destroyed_at is null),
    stored as (
      insert into public.sessions as s (sid, data, expires_at)
      select i.sid, i.data, i.expiry from input i where i.expiry > now() order by i.sid
      on conflict on constraint sessions_pkey do update
         set data = excluded.data,
             expires_at = excluded.expires_at,
             updated_at = now()
       where s.destroyed_at is null
      returning s.sid)
    select i.sid,
           case when i.expiry <= now() then 'expired'
                when st.sid is not null then 'stored'
                else 'destroyed' end
      from input i
      left join stored st on st.sid = i.sid
     order by i.sid;
end;
$$;

comment on function public.session_save(text[], jsonb, timestamptz[], double precision, boolean) is
  'Stores several sessions in one call, one set-based statement (rows locked in sid order); returns each sid with its outcome (stored, expired, destroyed), as session_save_one would.';

-- Moves the expiry of the live session p_sid to p_expires_at (or, when null, now() +
-- p_ttl_seconds), never its data; true when it wrote. Nothing is written (no row
-- version) for an expired, destroyed or unknown session, nor when the expiry would move
-- by less than p_touch_after seconds. A destroy holding the row makes this wait, then
-- recheck the row and see the tombstone.
create function public.session_touch_one(p_sid text, p_expires_at timestamptz,
                                         p_touch_after double precision default 0,
                                         p_ttl_seconds double precision default null,
                                         p_durable boolean default true)
returns boolean
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  expiry timestamptz := coalesce(p_expires_at, now() + make_interval(secs => p_ttl_seconds));
begin
  if expiry is null then
    raise exception 'session expiry must not be null' using errcode = '22023';
  end if;
  if not coalesce(p_durable, true) then
    perform pg_catalog.set_config('synchronous_commit', 'off', true);
  end if;
  update public.live_sessions l
     set expires_at = expiry,
         updated_at = now()
   where l.sid = p_sid
     and abs(extract(epoch from expiry - l.expires_at)) >= coalesce(p_touch_after, 0);
  return found;
end;
$$;

comment on function public.session_touch_one(text, timestamptz, double precision, double precision, boolean) is
  'Moves a live session''s expiry (never its data) unless it would move by less than p_touch_after seconds; true when written.';

-- The batch form of session_touch_one, one set-based statement: moves the expiry of live
-- sessions, never their data: p_sids[i] gets p_expires_at[i], or, where that is null,
-- now() + p_ttl_seconds. Returns the ids it wrote. The arrays have the same length, at
-- most 1000. A sid given twice takes its last expiry (the latest touch issued), as if the
-- touches had run in order.
create function public.session_touch(p_sids text[], p_expires_at timestamptz[],
                                     p_touch_after double precision default 0,
                                     p_ttl_seconds double precision default null,
                                     p_durable boolean default true)
returns table (sid text)
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
  if coalesce(cardinality(p_sids), 0) <> coalesce(cardinality(p_expires_at), 0) then
    raise exception 'p_sids and p_expires_at must have the same length, got % and %',
      coalesce(cardinality(p_sids), 0), coalesce(cardinality(p_expires_at), 0) using errcode = '22023';
  end if;
  if coalesce(cardinality(p_sids), 0) > 1000 then
    raise exception 'at most 1000 session ids per call, got %', cardinality(p_sids) using errcode = '22023';
  end if;
  if p_ttl_seconds is null and array_position(p_expires_at, null) is not null then
    raise exception 'session expiry must not be null' using errcode = '22023';
  end if;
  if not coalesce(p_durable, true) then
    perform pg_catalog.set_config('synchronous_commit', 'off', true);
  end if;
  perform from public.sessions s where s.sid = any (p_sids) order by s.sid for update;
  return query
    with input as (
      -- A sid given twice takes its last expiry (the latest touch issued).
      select distinct on (u.sid) u.sid,
             coalesce(u.expires_at, now() + make_interval(secs => p_ttl_seconds)) as expiry
        from unnest(p_sids, p_expires_at) with ordinality as u(sid, expires_at, pos)
       where u.sid is not null
       order by u.sid, u.pos desc),
    written as (
      update public.live_sessions l
         set expires_at = i.expiry,
             updated_at = now()
        from input i
       where l.sid = i.sid
         and abs(extract(epoch from i.expiry - l.expires_at)) >= coalesce(p_touch_after, 0)
      returning l.sid)
    select w.sid from written w order by w.sid;
end;
$$;

comment on function public.session_touch(text[], timestamptz[], double precision, double precision, boolean) is
  'Moves the expiry (never the data) of several live sessions in one call, one set-based statement (rows locked in sid order), each unless it would move by less than p_touch_after seconds; returns the sids it wrote.';

-- The saves and the touches of concurrent requests in one call, and so in one commit:
-- under load a store's writes of both kinds share one round trip and one WAL flush,
-- instead of a call (and a flush) each. The saves are session_save's, the touches
-- session_touch's (the same rules, the same outcomes); a sid is in one list at most.
-- Returns each saved sid with its outcome (stored, expired, destroyed) and each touched
-- sid it wrote with 'touched'. All rows are locked in sid order first, across both lists.
create function public.session_write(p_save_sids text[], p_save_data jsonb, p_save_expires_at timestamptz[],
                                     p_touch_sids text[], p_touch_expires_at timestamptz[],
                                     p_touch_after double precision default 0,
                                     p_ttl_seconds double precision default null,
                                     p_durable boolean default true)
returns table (sid text, outcome text)
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  saves integer := coalesce(cardinality(p_save_sids), 0);
  touches integer := coalesce(cardinality(p_touch_sids), 0);
begin
  if saves + touches > 1000 then
    raise exception 'at most 1000 session ids per call, got %', saves + touches using errcode = '22023';
  end if;
  if p_save_sids && p_touch_sids then
    raise exception 'a session id is either saved or touched in one call, not both' using errcode = '22023';
  end if;
  perform from public.sessions s
    where s.sid = any (coalesce(p_save_sids, '{}') || coalesce(p_touch_sids, '{}'))
    order by s.sid
    for update;
  if saves > 0 then
    return query
      select v.sid, v.outcome
        from public.session_save(p_save_sids, p_save_data, p_save_expires_at, p_ttl_seconds, p_durable) v;
  end if;
  if touches > 0 then
    return query
      select t.sid, 'touched'::text
        from public.session_touch(p_touch_sids, p_touch_expires_at, p_touch_after, p_ttl_seconds, p_durable) t;
  end if;
end;
$$;

comment on function public.session_write(text[], jsonb, timestamptz[], text[], timestamptz[], double precision, double precision, boolean) is
  'Saves (as session_save) and touches (as session_touch) several sessions in one call and one commit, rows locked in sid order; returns each saved sid''s outcome and each touched sid written (''touched'').';

-- Ends a session for good: wipes its data and leaves an expired tombstone, so that
-- a concurrent request's late set or touch cannot bring it back (both wait for this
-- row's lock, then see the tombstone).
create function public.session_destroy(p_sid text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into public.sessions as s (sid, data, expires_at, destroyed_at)
  values (p_sid, '{}'::jsonb, now(), now())
  on conflict (sid) do update
     set data = '{}'::jsonb,
         expires_at = least(s.expires_at, now()),
         destroyed_at = coalesce(s.destroyed_at, now());
end;
$$;

comment on function public.session_destroy(text) is
  'Ends a session for good: wipes its data and leaves an expired tombstone, so that a late set or touch cannot bring it back.';

-- "Log out everywhere": destroys every session of a Passport user
-- (data.passport.user, compared as text); returns how many live ones it ended.
create function public.session_destroy_user(p_user text)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  ended integer;
begin
  if p_user is null or p_user = '' then
    raise exception 'user id must be a non-empty string' using errcode = '22023';
  end if;
  -- Expired ones are tombstoned too (a request still in flight could otherwise
  -- write one back) but only live ones are counted.
  with target as (
    select s.sid, s.expires_at > now() as was_live
      from public.sessions s
     where (s.data #>> '{passport,user}') = p_user
       and s.destroyed_at is null
     order by s.sid  -- the lock order of session_touch's batches: no deadlock with them
       for update),
  tombstoned as (
    update public.sessions s
       set data = '{}'::jsonb,
           expires_at = least(s.expires_at, now()),
           destroyed_at = now()
      from target t
     where s.sid = t.sid
    returning t.was_live)
  select count(*) filter (where was_live) into ended from tombstoned;
  return ended;
end;
$$;

comment on function public.session_destroy_user(text) is
  'Log out everywhere: tombstones every session of a Passport user (data.passport.user, as text); returns how many live ones it ended.';

-- How many live sessions there are (express-session's optional `length`).
create function public.session_count()
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select count(*) from public.sessions s where s.expires_at > now());
end;
$$;

comment on function public.session_count() is
  'How many live sessions there are (express-session''s optional length).';

-- Listing and clearing within hosted Supabase's limits. PostgREST cuts a set-returning
-- function's result at db-max-rows (1000 on a new hosted project), silently, and every API
-- call runs under a statement_timeout (8 s for service_role, from the authenticator role),
-- so one statement tombstoning every session fails on a large table. The functions below
-- do that work in bounded pieces: the store calls them in a loop, one call per round trip.

-- One page of live sessions in sid order: those after p_after (from the start when null),
-- at most p_limit (1 to 1000). Every row carries page_rows, the number of rows this page
-- has, so a caller that receives fewer rows than that knows the API cut the page (its max
-- rows is below the page size) instead of taking a short page for the last one.
create function public.session_all_page(p_after text default null, p_limit integer default 1000)
returns table (sid text, data jsonb, expires_at timestamptz, page_rows integer)
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_limit must be between 1 and 1000, got %', coalesce(p_limit::text, 'null') using errcode = '22023';
  end if;
  return query
    select p.sid, p.data, p.expires_at, (pg_catalog.count(*) over ())::integer
      from (select s.sid, s.data, s.expires_at
              from public.sessions s
             where s.expires_at > now()
               and (p_after is null or s.sid > p_after)
             order by s.sid
             limit p_limit) p
     order by p.sid;
end;
$$;

comment on function public.session_all_page(text, integer) is
  'One page (keyset by sid, at most 1000 rows) of live sessions after p_after, each row with the page''s row count; express-session''s all() pages through it.';

-- The ids of one page of live sessions, as session_all_page.
create function public.session_ids_page(p_after text default null, p_limit integer default 1000)
returns table (sid text, page_rows integer)
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_limit must be between 1 and 1000, got %', coalesce(p_limit::text, 'null') using errcode = '22023';
  end if;
  return query
    select p.sid, (pg_catalog.count(*) over ())::integer
      from (select s.sid
              from public.sessions s
             where s.expires_at > now()
               and (p_after is null or s.sid > p_after)
             order by s.sid
             limit p_limit) p
     order by p.sid;
end;
$$;

comment on function public.session_ids_page(text, integer) is
  'One page (keyset by sid, at most 1000 rows) of live session ids after p_after, each row with the page''s row count.';

-- Destroys the next p_limit (1 to 10000) sessions not yet destroyed after p_after, in sid
-- order, leaving tombstones like session_destroy. Returns one row: how many live ones it
-- ended, how many rows it tombstoned (live or expired), and the last sid it took, where the
-- next call starts. A caller loops until tombstoned is 0. Sessions saved after the loop
-- passed their place survive: a clear in pieces is not one snapshot.
create function public.session_clear_batch(p_after text default null, p_limit integer default 5000)
returns table (ended integer, tombstoned integer, last_sid text)
language plpgsql
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 1 or p_limit > 10000 then
    raise exception 'p_limit must be between 1 and 10000, got %', coalesce(p_limit::text, 'null') using errcode = '22023';
  end if;
  return query
    with target as (
      select s.sid, s.expires_at > now() as was_live
        from public.sessions s
       where s.destroyed_at is null
         and (p_after is null or s.sid > p_after)
       order by s.sid  -- the lock order of every multi-row writer here: no deadlock with them
       limit p_limit
         for update),
    done as (
      update public.sessions s
         set data = '{}'::jsonb,
             expires_at = least(s.expires_at, now()),
             destroyed_at = now()
        from target t
       where s.sid = t.sid
      returning t.sid, t.was_live)
    select (pg_catalog.count(*) filter (where d.was_live))::integer,
           (pg_catalog.count(*))::integer,
           pg_catalog.max(d.sid)
      from done d;
end;
$$;

comment on function public.session_clear_batch(text, integer) is
  'Tombstones the next p_limit (at most 10000) undestroyed sessions after p_after in sid order; returns live ones ended, rows tombstoned, last sid. express-session''s clear() loops over it.';

-- Only service_role (and the owner) may call any of them.
revoke all on function
  public.session_get_one(text),
  public.session_get(text[]),
  public.session_save_one(text, jsonb, timestamptz, double precision, boolean),
  public.session_save(text[], jsonb, timestamptz[], double precision, boolean),
  public.session_touch_one(text, timestamptz, double precision, double precision, boolean),
  public.session_touch(text[], timestamptz[], double precision, double precision, boolean),
  public.session_write(text[], jsonb, timestamptz[], text[], timestamptz[], double precision, double precision, boolean),
  public.session_destroy(text),
  public.session_destroy_user(text),
  public.session_count(),
  public.session_all_page(text, integer),
  public.session_ids_page(text, integer),
  public.session_clear_batch(text, integer)
  from public, anon, authenticated;

grant execute on function
  public.session_get_one(text),
  public.session_get(text[]),
  public.session_save_one(text, jsonb, timestamptz, double precision, boolean),
  public.session_save(text[], jsonb, timestamptz[], double precision, boolean),
  public.session_touch_one(text, timestamptz, double precision, double precision, boolean),
  public.session_touch(text[], timestamptz[], double precision, double precision, boolean),
  public.session_write(text[], jsonb, timestamptz[], text[], timestamptz[], double precision, double precision, boolean),
  public.session_destroy(text),
  public.session_destroy_user(text),
  public.session_count(),
  public.session_all_page(text, integer),
  public.session_ids_page(text, integer),
  public.session_clear_batch(text, integer)
  to service_role;
