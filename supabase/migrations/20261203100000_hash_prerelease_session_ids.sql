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
