-- The per-request functions plan their statements once per connection.
-- PL/pgSQL caches each statement's plan, but a statement with parameters is planned
-- afresh on every call for as long as the planner rates its generic plan costlier than
-- the custom ones it made, and for these array-driven statements that is forever:
-- planning then cost as much as running them (pgbench, one session per call:
-- session_get went from about 10,000 to 19,000 calls/s, session_touch from 3,400 to
-- 6,500). Their generic plans are the same primary-key lookups the custom plans were.
alter function public.session_get(text[])
  set plan_cache_mode = force_generic_plan;
alter function public.session_touch(text[], timestamptz[], double precision, double precision, boolean)
  set plan_cache_mode = force_generic_plan;
alter function public.session_set_many(text[], jsonb, timestamptz[], double precision, boolean)
  set plan_cache_mode = force_generic_plan;
