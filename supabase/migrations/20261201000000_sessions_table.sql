-- Session storage for express-session (supabase-session-store).
--
-- Sessions are bearer credentials: only service_role (the store's and the cleanup
-- function's role) and the owner may touch them. Supabase's default privileges
-- grant every new object in `public` to anon and authenticated, and PostgreSQL
-- grants EXECUTE on new functions to PUBLIC; both are revoked explicitly below.
--
-- Credentials at rest too: a session is keyed by the hex SHA-256 of the session id in its
-- cookie, which the store computes in the app process before any call, never by the id
-- itself. Whoever reads this table (the dashboard's editors, a dump, a backup, a replica, a
-- leaked database URL, a log of statements and their parameters) learns no cookie value,
-- and a stored key presented as a cookie is hashed again and finds nothing. express-
-- session's ids carry 192 random bits, so a plain SHA-256 is enough: no salt or key to
-- lose or rotate. The data is not hashed: it is readable to whoever reads the table.

create table public.sessions (
  -- The session's key: hex SHA-256 of the cookie's session id (see above).
  sid          text        primary key,
  data         jsonb       not null,
  expires_at   timestamptz not null,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  -- Set when the session is destroyed (logout). The row stays as an expired,
  -- data-less tombstone for a day so that a late write from a request still in
  -- flight cannot bring the session back; cleanup removes it afterwards.
  destroyed_at timestamptz,
  constraint sessions_sid_is_key check (sid ~ '^[0-9a-f]{64}$'),
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

-- updated_at follows every update, and cannot be set back.
--
-- The store's writers (session_save_one, session_save, session_touch_one, session_touch)
-- set updated_at = now() in their own statement, so the trigger fires only for an update
-- that leaves updated_at at anything but now(): one that does not set it (an operator's,
-- another function's) or sets it to another time. Calling this PL/pgSQL function on every
-- row of every touch and save was a tenth of the database's work for a write (pgbench, one
-- stream, fsync on: an 8-row touch 1,935 -> 2,145/s with the call skipped, a one-row
-- durable update 3,550 -> 3,950/s).
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

comment on function public.sessions_set_updated_at() is
  'Trigger function: sets updated_at to now() on an update that did not set it to now() itself.';

create trigger sessions_set_updated_at
  before update on public.sessions
  for each row
  when (new.updated_at is distinct from now())
  execute function public.sessions_set_updated_at();
revoke all on function public.sessions_set_updated_at() from public, anon, authenticated, service_role;

-- The live sessions: not destroyed and not expired on the database clock. Reading through
-- this view is how every function here decides that a session exists. updated_at is in it so
-- that the touches, which write through it, can set it.
create view public.live_sessions
with (security_invoker = true)
as
  select s.sid, s.data, s.expires_at, s.updated_at
    from public.sessions s
   where s.destroyed_at is null
     and s.expires_at > now();

comment on view public.live_sessions is
  'Sessions that are neither destroyed nor expired (database clock). security_invoker: reading it needs the privileges on public.sessions.';

revoke all on public.live_sessions from public, anon, authenticated;
grant select, update on public.live_sessions to service_role;
