-- A user's own sessions, for an account page: list the devices a Passport user is signed
-- in on and end one of them.
--
-- The table holds no session id, only each session's key (hex SHA-256 of the id), and
-- the key is what these functions name a session by: its handle. The store computes it
-- for the request's own session ("this device"); nobody can turn it back into an id, and
-- a cookie carrying it finds no session (the store hashes a cookie's id before any call,
-- so a handle presented as an id is looked up as the handle's own hash). A handle is not
-- a secret from its user: the account page shows the user their own.

-- The handle of a session id, which is its key: hex SHA-256 of its UTF-8 bytes (what
-- Node's createHash('sha256').update(sid) computes, and the store's sessionKey). The store
-- never sends an id, so nothing it runs calls this; it is the definition in SQL, which the
-- migration for pre-release databases used to convert their ids, and what an operator
-- holding a cookie's id (from their own browser) finds its row with. convert_to, not a
-- cast to bytea: the cast would read backslashes in the id as escapes.
create function public.session_handle(p_sid text)
returns text
language sql
immutable
strict
parallel safe
set search_path = ''
as $$
  select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_sid, 'UTF8')), 'hex');
$$;

comment on function public.session_handle(text) is
  'The opaque handle of a session id: hex SHA-256 of its UTF-8 bytes. Not reversible; never a session id itself.';

-- One page of the live sessions of a Passport user (data.passport.user, compared as text,
-- so a numeric id matches its decimal form): at most p_limit (1..1000) rows with a handle
-- greater than p_after (null: from the start), ordered by handle. Expired and destroyed
-- sessions are not listed. has_more says whether rows follow this one; a caller pages by
-- calling again with the last row's handle as p_after until the last row it received says
-- false. That holds even when an API in front caps the rows it passes on (PostgREST's
-- db-max-rows, 1000 by default on Supabase and lowerable by the operator): a cut page
-- ends on a row that says true.
-- Keyset on the handle, not on updated_at: a session's handle never changes, so every
-- session that lives through a paged listing is listed exactly once, whereas a touch
-- between two pages would move a session across an updated_at cursor and drop it.
-- The user's rows come from idx_sessions_passport_user (its predicate, destroyed_at is
-- null, is repeated here so that the partial index applies); a row's handle is its sid.
create function public.session_list_user(p_user text, p_after text default null, p_limit integer default 1000)
returns table (handle text, data jsonb, created_at timestamptz, updated_at timestamptz,
               expires_at timestamptz, has_more boolean)
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_user is null or p_user = '' then
    raise exception 'user id must be a non-empty string' using errcode = '22023';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_limit must be between 1 and 1000, got %', coalesce(p_limit::text, 'null')
      using errcode = '22023';
  end if;
  return query
    select s.sid, s.data, s.created_at, s.updated_at, s.expires_at,
           -- Window functions see every row after p_after, before the limit cuts.
           count(*) over () > row_number() over (order by s.sid)
      from public.sessions s
     where (s.data #>> '{passport,user}') = p_user
       and s.destroyed_at is null
       and s.expires_at > now()
       and (p_after is null or s.sid > p_after)
     order by s.sid
     limit p_limit;
end;
$$;

comment on function public.session_list_user(text, text, integer) is
  'One page (ordered by handle, after p_after, at most p_limit <= 1000 rows) of the live sessions of a Passport user, '
  'each named by its handle, never its id; has_more says whether rows follow.';

-- Ends the session with handle p_handle if it is one of p_user's: the ownership check is
-- part of the same statement, so a handle of someone else's session (or an unknown one)
-- ends nothing. Ends it as session_destroy does: data wiped, an expired tombstone left,
-- so that a late set or touch of a request still in flight cannot bring it back. Returns
-- whether it ended a live session (an expired one of the user's is tombstoned too, since
-- a request in flight could otherwise write it back, but not counted).
create function public.session_destroy_user_session(p_user text, p_handle text)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  ended boolean;
begin
  if p_user is null or p_user = '' then
    raise exception 'user id must be a non-empty string' using errcode = '22023';
  end if;
  if p_handle is null or p_handle !~ '^[0-9a-f]{64}$' then
    raise exception 'session handle must be 64 lowercase hex digits' using errcode = '22023';
  end if;
  -- The handle is the key: one primary-key lookup. Locking re-checks the conditions on
  -- the row's latest version: a session whose user changed (logged out, signed in as
  -- someone else) meanwhile is left alone.
  with target as (
    select s.sid, s.expires_at > now() as was_live
      from public.sessions s
     where s.sid = p_handle
       and (s.data #>> '{passport,user}') = p_user
       and s.destroyed_at is null
       for update),
  tombstoned as (
    update public.sessions s
       set data = '{}'::jsonb,
           expires_at = least(s.expires_at, now()),
           destroyed_at = now()
      from target t
     where s.sid = t.sid
    returning t.was_live)
  select coalesce(bool_or(was_live), false) into ended from tombstoned;
  return ended;
end;
$$;

comment on function public.session_destroy_user_session(text, text) is
  'Ends the session with this handle if it belongs to this Passport user, leaving a tombstone like session_destroy; '
  'returns whether it ended a live session.';

-- Only service_role (and the owner) may call them.
revoke all on function
  public.session_handle(text),
  public.session_list_user(text, text, integer),
  public.session_destroy_user_session(text, text)
  from public, anon, authenticated;

grant execute on function
  public.session_handle(text),
  public.session_list_user(text, text, integer),
  public.session_destroy_user_session(text, text)
  to service_role;
