-- The batch writers, session_save and session_touch, as set-based statements.
--
-- They answer the writes of concurrent requests in one round trip. The baseline wrote
-- them as loops calling session_save_one / session_touch_one per session, so that each
-- rule had one definition; each iteration then paid a PL/pgSQL call and its SET clauses,
-- and under load that call, not the write, was most of the work (an A/B with the bench's
-- session and closed loop, pg backend: touch 18,000 -> 23,600/s and set 14,500 -> 17,200/s
-- at C = 32; touch 9,100 -> 10,600/s and set 8,400 -> 9,600/s at C = 8).
--
-- So each rule is now written in two forms, the scalar one (*_one, what a lone operation
-- calls: at low concurrency, one-element arrays cost 6-10% of a durable write) and the
-- set-based one below; supabase/tests/database/batch_writes.test.sql runs every case
-- through both and requires the same outcome and the same row, so the two cannot drift.
-- The rules, as in the *_one functions:
--   live: public.live_sessions (not destroyed, not expired on the database clock);
--   a save never revives a tombstone (destroyed_at set): outcome 'destroyed';
--   a save whose expiry is already past deletes the session: outcome 'expired';
--   a touch moves only the expiry of a live session, and only by p_touch_after or more.
--
-- Lock order: each first locks the batch's existing rows in sid order, in a statement of
-- its own, then writes; every multi-row writer here takes its row locks in that order,
-- so two stores writing overlapping batches never deadlock.

create or replace function public.session_save(p_sids text[], p_data jsonb, p_expires_at timestamptz[],
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
             expires_at = excluded.expires_at
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

create or replace function public.session_touch(p_sids text[], p_expires_at timestamptz[],
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
         set expires_at = i.expiry
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

revoke all on function
  public.session_write(text[], jsonb, timestamptz[], text[], timestamptz[], double precision, double precision, boolean)
  from public, anon, authenticated;
grant execute on function
  public.session_write(text[], jsonb, timestamptz[], text[], timestamptz[], double precision, double precision, boolean)
  to service_role;
