-- Saves of concurrent requests share one call, as their gets and touches already do.
-- A durable session write costs a WAL flush at commit; sessions saved by one call share
-- one transaction and so one flush, which is what lets session writes scale with load.

-- Stores sessions: p_sids[i] gets the JSON object p_data[i] (p_data is a JSON array) and
-- the expiry p_expires_at[i] or, where that is null, now() + p_ttl_seconds on the
-- database clock. Returns the ids it stored. Like session_set for each one: an expiry
-- already past deletes the session instead (not returned), and a destroyed session
-- (tombstone) is never revived (not returned). A sid given twice takes its last entry.
-- The arrays have the same length, at most 1000. p_durable means what it means for
-- session_set.
create function public.session_set_many(p_sids text[], p_data jsonb, p_expires_at timestamptz[],
                                        p_ttl_seconds double precision default null,
                                        p_durable boolean default true)
returns table (sid text)
language plpgsql
set search_path = ''
as $$
declare
  n integer := coalesce(cardinality(p_sids), 0);
  stored text[];
  expired text[];
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

  -- One upsert that takes its rows in sid order (the insert consumes the sorted rows one
  -- by one, locking or inserting each), the order every multi-row writer here uses, so
  -- concurrent calls from other app instances cannot deadlock with it. An expired entry
  -- is written too, so that its row is locked in that order, and then deleted below by
  -- a statement that only touches rows this call already holds.
  with written as (
    insert into public.sessions as s (sid, data, expires_at)
    select distinct on (w.sid) w.sid, p_data -> (w.pos - 1)::integer,
           coalesce(w.expires_at, now() + make_interval(secs => p_ttl_seconds))
      from unnest(p_sids, p_expires_at) with ordinality as w(sid, expires_at, pos)
     order by w.sid, w.pos desc
    on conflict on constraint sessions_pkey do update
       set data = excluded.data,
           expires_at = excluded.expires_at
     where s.destroyed_at is null
    returning s.sid, s.expires_at)
  select coalesce(array_agg(w.sid) filter (where w.expires_at > now()), '{}'),
         coalesce(array_agg(w.sid) filter (where w.expires_at <= now()), '{}')
    into stored, expired
    from written w;

  if cardinality(expired) > 0 then
    delete from public.sessions s where s.sid = any (expired);
  end if;
  return query select unnest(stored);
end;
$$;

-- session_set stays for callers of the single-session form (an older store during a
-- rolling deploy, scripts): the same logic, one session.
create or replace function public.session_set(p_sid text, p_data jsonb, p_expires_at timestamptz,
                                              p_ttl_seconds double precision default null,
                                              p_durable boolean default true)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  return exists (
    select from public.session_set_many(array[p_sid], pg_catalog.jsonb_build_array(p_data),
                                        array[p_expires_at], p_ttl_seconds, p_durable));
end;
$$;

revoke all on function
  public.session_set_many(text[], jsonb, timestamptz[], double precision, boolean)
  from public, anon, authenticated;
grant execute on function
  public.session_set_many(text[], jsonb, timestamptz[], double precision, boolean)
  to service_role;
