-- Session storage for express-session (supabase-session-store).
--
-- Sessions are bearer credentials: only service_role (the store's and the cleanup
-- function's role) and the owner may touch them. Supabase's default privileges
-- grant every new object in `public` to anon and authenticated, and PostgreSQL
-- grants EXECUTE on new functions to PUBLIC; both are revoked explicitly below.

create table public.sessions (
  sid          text        primary key,
  data         jsonb       not null,
  expires_at   timestamptz not null,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  -- Set when the session is destroyed (logout). The row stays as an expired,
  -- data-less tombstone for a day so that a late write from a request still in
  -- flight cannot bring the session back; cleanup removes it afterwards.
  destroyed_at timestamptz,
  constraint sessions_sid_length check (char_length(sid) between 1 and 255),
  constraint sessions_data_is_object check (jsonb_typeof(data) = 'object')
);

comment on table public.sessions is
  'express-session sessions (supabase-session-store). Live sessions: expires_at > now().';

-- Expiry lookups (cleanup, monitoring).
create index idx_sessions_expires_at on public.sessions (expires_at);

-- "Log out everywhere": a Passport user's live sessions.
create index idx_sessions_passport_user on public.sessions ((data #>> '{passport,user}'))
  where destroyed_at is null;

alter table public.sessions enable row level security;

revoke all on table public.sessions from public, anon, authenticated;
grant select, insert, update, delete on table public.sessions to service_role;

-- updated_at follows every update.
create function public.sessions_set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

create trigger sessions_set_updated_at
  before update on public.sessions
  for each row execute function public.sessions_set_updated_at();

-- Deletes one bounded batch of expired sessions and returns how many it deleted.
-- A function runs inside its caller's transaction, so a full purge is a loop of
-- calls, each its own short transaction (the Edge Function, `npm run purge` and
-- the pg_cron job do that); by hand, repeat `select cleanup_expired_sessions();`
-- until it returns less than the batch size. SKIP LOCKED lets two cleanups run at
-- once without waiting on each other or counting a row twice, and leaves any row a
-- live request holds alone; the locking re-check means a row made live again by a
-- concurrent write is never deleted.
create function public.cleanup_expired_sessions(batch_size integer default 10000)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  deleted integer;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000, got %', coalesce(batch_size::text, 'null')
      using errcode = '22023';
  end if;

  delete from public.sessions s
   where s.sid in (
     select e.sid
       from public.sessions e
      where e.expires_at <= now()
        and (e.destroyed_at is null or e.destroyed_at < now() - interval '1 day')
      order by e.expires_at
      limit batch_size
        for update skip locked);

  get diagnostics deleted = row_count;
  return deleted;
end;
$$;

-- How many rows cleanup_expired_sessions would delete right now (a dry run). Its
-- condition is cleanup_expired_sessions' own, kept next to it on purpose.
create function public.count_expired_sessions()
returns bigint
language plpgsql
stable
set search_path = ''
as $$
begin
  return (
    select count(*)
      from public.sessions e
     where e.expires_at <= now()
       and (e.destroyed_at is null or e.destroyed_at < now() - interval '1 day'));
end;
$$;

revoke all on function public.sessions_set_updated_at() from public, anon, authenticated, service_role;
revoke all on function public.cleanup_expired_sessions(integer) from public, anon, authenticated;
grant execute on function public.cleanup_expired_sessions(integer) to service_role;
revoke all on function public.count_expired_sessions() from public, anon, authenticated;
grant execute on function public.count_expired_sessions() to service_role;
