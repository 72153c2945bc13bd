-- A comment on every function this package defines, so that the catalog describes
-- itself (\df+, the dashboard, doctor's readers) as the table, the view and the other
-- functions already do. These seven were created without one, as was the schedule's
-- dispatch_session_cleanup (20261203000200_schedule_cleanup_comment.sql);
-- sessions_schema.test.sql now requires a comment on each session function.

comment on function public.sessions_set_updated_at() is
  'Trigger function: sets updated_at to now() on an update that did not set it to now() itself.';

comment on function public.session_get(text[]) is
  'The live sessions among p_sids (at most 1000): sid, data and expiry; no row for an expired, destroyed or unknown id.';

comment on function public.session_destroy(text) is
  'Ends a session for good: wipes its data and leaves an expired tombstone, so that a late set or touch cannot bring it back.';

comment on function public.session_destroy_user(text) is
  'Log out everywhere: tombstones every session of a Passport user (data.passport.user, as text); returns how many live ones it ended.';

comment on function public.session_count() is
  'How many live sessions there are (express-session''s optional length).';

comment on function public.cleanup_expired_sessions(integer) is
  'Deletes one batch (batch_size, 1 to 100000) of expired sessions and day-old tombstones, oldest first, skipping locked rows; returns how many.';

comment on function public.count_expired_sessions() is
  'How many rows cleanup_expired_sessions would delete now (its dry run).';
