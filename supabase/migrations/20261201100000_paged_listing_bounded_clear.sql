-- Listing and clearing within hosted Supabase's limits.
--
-- PostgREST cuts a set-returning function's result at db-max-rows (1000 on a new hosted
-- project), silently, so session_all() and session_ids() return at most that many rows
-- through the API. And every API call runs under a statement_timeout (8 s for
-- service_role, from the authenticator role), so one statement tombstoning every session
-- (session_clear) fails on a large table. The functions below do the same work in
-- bounded pieces: the store calls them in a loop, one call per round trip.

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

-- The unbounded forms stay for callers that know their table is small (an older store
-- during a rolling deploy, scripts), with the limits they run into said where they live.
comment on function public.session_all() is
  'Every live session in one result: through the API cut at max rows (1000 on hosted Supabase). Prefer session_all_page.';
comment on function public.session_ids() is
  'Every live session id in one result: through the API cut at max rows (1000 on hosted Supabase). Prefer session_ids_page.';
comment on function public.session_clear() is
  'Destroys every session in one statement: on a large table past the API''s 8 s statement_timeout. Prefer session_clear_batch.';

revoke all on function
  public.session_all_page(text, integer),
  public.session_ids_page(text, integer),
  public.session_clear_batch(text, integer)
  from public, anon, authenticated;
grant execute on function
  public.session_all_page(text, integer),
  public.session_ids_page(text, integer),
  public.session_clear_batch(text, integer)
  to service_role;
