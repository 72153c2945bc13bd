-- Sessions keyed by the hash of their id, in a database provisioned before 0.1.0.
--
-- The baseline (20261201000000_sessions_table.sql) keys each session by the hex SHA-256 of
-- its cookie's session id and checks that shape (sessions_sid_is_key). A database
-- provisioned from this repository before that holds the ids themselves, under the check
-- sessions_sid_length; this converts it in place, in this migration's one transaction:
-- every id becomes its hash, which is what the store now computes from the same cookie, so
-- every session is found under its new key and nobody is logged out, and every tombstone
-- keeps its session ended. updated_at is kept (the trigger is off for the conversion): it
-- says when a device was last active, which the account page shows.
--
-- A database built from the baseline has no sessions_sid_length: nothing happens there,
-- and nothing happens on a second run (the check it replaces is the marker).
--
-- The handles of the account page do not change: a pre-release handle was the hex SHA-256
-- of the id, which is now the key, and the key is the handle. The two user-session
-- functions below looked a handle up by hashing each row's id; they take the baseline's
-- definitions (a row's handle is its sid), written again here because a pre-release
-- database does not run the baseline's files again. On a baseline database they replace
-- the functions with themselves. tests/node/prerelease-upgrade.test.mjs holds both kinds of
-- database to the same catalog afterwards.
--
-- Order for an operator (docs/operating.md): push this migration, then deploy the store's
-- new release at once. An app instance of the old release still running in between finds
-- no session (its users seem signed out on that instance only, until it is replaced) and
-- cannot write one: the new check refuses a plain id, so none is ever stored again.
do $$
begin
  if exists (select from pg_catalog.pg_constraint
              where conrelid = 'public.sessions'::regclass and conname = 'sessions_sid_length') then
    alter table public.sessions disable trigger sessions_set_updated_at;
    update public.sessions set sid = public.session_handle(sid);
    alter table public.sessions enable trigger sessions_set_updated_at;
    alter table public.sessions drop constraint sessions_sid_length;
    alter table public.sessions add constraint sessions_sid_is_key check (sid ~ '^[0-9a-f]{64}$');
  end if;
end;
$$;

create or replace function public.session_list_user(p_user text, p_after text default null, p_limit integer default 1000)
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

create or replace function public.session_destroy_user_session(p_user text, p_handle text)
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
