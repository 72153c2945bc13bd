-- The Passport index holds signed-in sessions only, so that no plan for a get can use it.
--
-- idx_sessions_passport_user was partial on `destroyed_at is null`, which is also half of
-- live_sessions' condition. Before a table's first ANALYZE (a new install, or a table the
-- planner has no statistics for) the planner prices a scan of that whole index, with no
-- index condition, as cheap, and ANDs it into the generic plan of every get that reads
-- live_sessions: measured on a fresh copy of the table, `sid = any($1)` becomes a BitmapAnd
-- of the key with the entire partial index (and, on an empty table, a scan of the partial
-- index alone, filtering on sid). The store's functions keep one generic plan per
-- connection (force_generic_plan), so a connection opened before the first ANALYZE would
-- read every live session's index entry on each get for as long as it lives. In the
-- benchmark, before it analyzed its tables, that plan held get at C = 8 to 0.42x of
-- connect-pg-simple (3.13x once analyzed).
--
-- The predicate now also requires a Passport user: no get, count or page condition implies
-- that, so the index cannot serve them; every query that looks a user up (session_list_user,
-- session_destroy_user) compares `data #>> '{passport,user}'` with a value, which implies it
-- is not null, so they read the index as before. Anonymous sessions are no longer in the
-- index at all: a smaller index, and no index entry for an anonymous session's save.
-- supabase/tests/database/plans.test.sql checks both, on a copy of the table with no
-- statistics.
--
-- The index is built again in this migration's transaction, which blocks writes to the
-- table (not reads) while it reads the table once.

drop index public.idx_sessions_passport_user;

-- "Log out everywhere" and the account page: a Passport user's live sessions.
create index idx_sessions_passport_user on public.sessions ((data #>> '{passport,user}'))
  where destroyed_at is null and (data #>> '{passport,user}') is not null;
