-- The schedule's function gets its comment here, beside the schedule, as the other
-- session functions got theirs in 20261203000100_function_comments.sql.

comment on function public.dispatch_session_cleanup(interval, integer) is
  'The hourly cleanup job''s body: asks the cleanup-sessions Edge Function to purge (pg_net and Vault present), else purges directly within time_budget; returns the branch taken.';
