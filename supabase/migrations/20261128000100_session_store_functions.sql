-- The SQL functions the express-session store calls: one call per store operation,
-- each a single statement or a short PL/pgSQL body (plans cached per connection),
-- so the pg backend and the supabase-js backend (PostgREST RPC) share one logic.
-- SECURITY INVOKER: the caller needs service_role (or ownership) anyway.
--
-- Times come from the database clock, now(), only.

-- The live sessions among p_sids (at most 1000): sid, data and expiry; nothing for
-- an expired, destroyed or unknown one. Taking several ids lets the store answer the
-- gets of concurrent requests with one round trip.
create function public.session_get(p_sids text[])
returns table (sid text, data jsonb, expires_at timestamptz)
language plpgsql
stable
set search_path = ''
as $$
begin
  if coalesce(cardinality(p_sids), 0) > 1000 then
    raise exception 'at most 1000 session ids per call, got %', cardinality(p_sids) using errcode = '22023';
  end if;
  return query
    select s.sid, s.data, s.expires_at
      from public.sessions s
     where s.sid = any (p_sids)
       and s.expires_at > now();
end;
$$;

-- Stores a session; returns false when nothing was stored: an expiry already past
-- deletes the session instead, and a destroyed session (tombstone) is never revived.
-- The expiry is p_expires_at (the cookie's, computed by express-session) or, for a
-- cookie without one, now() + p_ttl_seconds on the database clock.
-- p_durable = false commits this write asynchronously (synchronous_commit off for this
-- transaction only): a database crash may lose the last fraction of a second of such
-- writes, never corrupt anything.
create function public.session_set(p_sid text, p_data jsonb, p_expires_at timestamptz,
                                   p_ttl_seconds double precision default null,
                                   p_durable boolean default true)
returns boolean
language plpgsql
set search_path = ''
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
    return false;
  end if;

  insert into public.sessions as s (sid, data, expires_at)
  values (p_sid, p_data, expiry)
  on conflict (sid) do update
     set data = excluded.data,
         expires_at = excluded.expires_at
   where s.destroyed_at is null;
  return found;
end;
$$;

-- Moves the expiry of live sessions, never their data: p_sids[i] gets p_expires_at[i],
-- or, where that is null, now() + p_ttl_seconds. Taking several lets the store send
-- the touches of concurrent requests in one round trip. Returns the ids it wrote:
-- a session is written only if it is live (never an expired row, never a tombstone) and
-- its expiry moves by at least p_touch_after seconds; otherwise nothing is written (no
-- row version). p_durable means what it means for session_set.
-- The arrays have the same length, at most 1000. A sid given twice takes its last expiry
-- (the latest touch issued), as if the touches had run in order.
create function public.session_touch(p_sids text[], p_expires_at timestamptz[],
                                     p_touch_after double precision default 0,
                                     p_ttl_seconds double precision default null,
                                     p_durable boolean default true)
returns table (sid text)
language plpgsql
set search_path = ''
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
  -- No deadlock between concurrent batches (other app instances touching overlapping
  -- sessions in another order): every row this call writes is first locked by one
  -- SELECT ... FOR UPDATE that sorts by sid before it locks (the lock step runs above
  -- the sort), so all batches take their locks in one global order and none can hold
  -- a lock another holds while waiting for one it has. The UPDATE then only writes
  -- rows already locked by this transaction, so it never waits. A row changed while
  -- we waited for its lock is rechecked (READ COMMITTED): one tombstoned or expired
  -- meanwhile, or already moved close enough, is dropped from the batch.
  return query
    with wanted as (
      select distinct on (w.sid) w.sid,
             coalesce(w.expires_at, now() + make_interval(secs => p_ttl_seconds)) as expiry
        from unnest(p_sids, p_expires_at) with ordinality as w(sid, expires_at, pos)
       order by w.sid, w.pos desc),
    locked as materialized (
      select s.sid, w.expiry
        from public.sessions s
        join wanted w on w.sid = s.sid
       where s.destroyed_at is null
         and s.expires_at > now()
         and abs(extract(epoch from w.expiry - s.expires_at)) >= coalesce(p_touch_after, 0)
       order by s.sid
         for update of s)
    update public.sessions s
       set expires_at = l.expiry
      from locked l
     where s.sid = l.sid
    returning s.sid;
end;
$$;

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

-- Every live session (express-session's optional `all`).
create function public.session_all()
returns table (sid text, data jsonb, expires_at timestamptz)
language plpgsql
stable
set search_path = ''
as $$
begin
  return query
    select s.sid, s.data, s.expires_at
      from public.sessions s
     where s.expires_at > now()
     order by s.sid;
end;
$$;

-- The ids of every live session.
create function public.session_ids()
returns table (sid text)
language plpgsql
stable
set search_path = ''
as $$
begin
  return query
    select s.sid from public.sessions s where s.expires_at > now() order by s.sid;
end;
$$;

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

-- Destroys every session (express-session's optional `clear`), leaving tombstones
-- like session_destroy; returns how many live ones it ended.
create function public.session_clear()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  ended integer;
begin
  with target as (
    select s.sid, s.expires_at > now() as was_live
      from public.sessions s
     where s.destroyed_at is null
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

-- Only service_role (and the owner) may call any of them.
revoke all on function
  public.session_get(text[]),
  public.session_set(text, jsonb, timestamptz, double precision, boolean),
  public.session_touch(text[], timestamptz[], double precision, double precision, boolean),
  public.session_destroy(text),
  public.session_destroy_user(text),
  public.session_all(),
  public.session_ids(),
  public.session_count(),
  public.session_clear()
  from public, anon, authenticated;

grant execute on function
  public.session_get(text[]),
  public.session_set(text, jsonb, timestamptz, double precision, boolean),
  public.session_touch(text[], timestamptz[], double precision, double precision, boolean),
  public.session_destroy(text),
  public.session_destroy_user(text),
  public.session_all(),
  public.session_ids(),
  public.session_count(),
  public.session_clear()
  to service_role;
