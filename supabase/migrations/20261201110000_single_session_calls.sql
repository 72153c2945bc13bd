-- One-session calls with scalar parameters, and each rule about a session written once.
--
-- The store now sends an operation at once when no call of its kind is in flight, so at
-- low concurrency most calls carry one session. Measured with pgbench (-M prepared, one
-- session per call), array parameters and their unnest cost a large share of such a call;
-- the *_one functions take scalars. The batch functions keep their signatures and become
-- loops over the *_one functions in sid order, so that every rule (what "live" means, the
-- tombstone, an expiry already past, the touch threshold) has one definition, and every
-- multi-row writer still takes its row locks in one global order (no deadlock).

-- The live sessions: not destroyed and not expired on the database clock. Reading through
-- this view is how every function here decides that a session exists.
create view public.live_sessions
with (security_invoker = true)
as
  select s.sid, s.data, s.expires_at
    from public.sessions s
   where s.destroyed_at is null
     and s.expires_at > now();

comment on view public.live_sessions is
  'Sessions that are neither destroyed nor expired (database clock). security_invoker: reading it needs the privileges on public.sessions.';

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

-- The live sessions among p_sids (at most 1000), as before; now read through live_sessions.
create or replace function public.session_get(p_sids text[])
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
     set expires_at = expiry
   where l.sid = p_sid
     and abs(extract(epoch from expiry - l.expires_at)) >= coalesce(p_touch_after, 0);
  return found;
end;
$$;

comment on function public.session_touch_one(text, timestamptz, double precision, double precision, boolean) is
  'Moves a live session''s expiry (never its data) unless it would move by less than p_touch_after seconds; true when written.';

-- The batch form, same contract as before: the ids it wrote; a sid given twice takes its
-- last expiry. One session_touch_one per distinct sid, in sid order (the lock order).
create or replace function public.session_touch(p_sids text[], p_expires_at timestamptz[],
                                                p_touch_after double precision default 0,
                                                p_ttl_seconds double precision default null,
                                                p_durable boolean default true)
returns table (sid text)
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
  w record;
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
  for w in
    select distinct on (u.sid) u.sid, u.expires_at
      from unnest(p_sids, p_expires_at) with ordinality as u(sid, expires_at, pos)
     where u.sid is not null
     order by u.sid, u.pos desc
  loop
    if public.session_touch_one(w.sid, w.expires_at, p_touch_after, p_ttl_seconds, p_durable) then
      sid := w.sid;
      return next;
    end if;
  end loop;
end;
$$;

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
         expires_at = excluded.expires_at
   where s.destroyed_at is null;
  return case when found then 'stored' else 'destroyed' end;
end;
$$;

comment on function public.session_save_one(text, jsonb, timestamptz, double precision, boolean) is
  'Stores one session (upsert); an expiry already past deletes it; a destroyed session is never revived. Returns stored, expired or destroyed.';

-- The batch form of session_save_one: p_sids[i] gets the JSON object p_data[i] (p_data is
-- a JSON array) and the expiry p_expires_at[i]; returns each distinct sid with its
-- outcome. A sid given twice takes its last entry. At most 1000 per call. One
-- session_save_one per distinct sid, in sid order (the lock order).
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
  w record;
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
  for w in
    select distinct on (u.sid) u.sid, p_data -> (u.pos - 1)::integer as data, u.expires_at
      from unnest(p_sids, p_expires_at) with ordinality as u(sid, expires_at, pos)
     order by u.sid, u.pos desc
  loop
    sid := w.sid;
    outcome := public.session_save_one(w.sid, w.data, w.expires_at, p_ttl_seconds, p_durable);
    return next;
  end loop;
end;
$$;

comment on function public.session_save(text[], jsonb, timestamptz[], double precision, boolean) is
  'Stores several sessions in one call (sid order); returns each sid with its outcome (stored, expired, destroyed).';

-- The previous batch save keeps its signature and contract (the ids stored) for callers of
-- an older store during a rolling deploy, now defined by session_save.
create or replace function public.session_set_many(p_sids text[], p_data jsonb, p_expires_at timestamptz[],
                                                   p_ttl_seconds double precision default null,
                                                   p_durable boolean default true)
returns table (sid text)
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
    select s.sid from public.session_save(p_sids, p_data, p_expires_at, p_ttl_seconds, p_durable) s
     where s.outcome = 'stored';
end;
$$;

revoke all on public.live_sessions from public, anon, authenticated;
grant select, update on public.live_sessions to service_role;
revoke all on function
  public.session_get_one(text),
  public.session_touch_one(text, timestamptz, double precision, double precision, boolean),
  public.session_save_one(text, jsonb, timestamptz, double precision, boolean),
  public.session_save(text[], jsonb, timestamptz[], double precision, boolean)
  from public, anon, authenticated;
grant execute on function
  public.session_get_one(text),
  public.session_touch_one(text, timestamptz, double precision, double precision, boolean),
  public.session_save_one(text, jsonb, timestamptz, double precision, boolean),
  public.session_save(text[], jsonb, timestamptz[], double precision, boolean)
  to service_role;
