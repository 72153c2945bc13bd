-- The batch writers (migration 20261201000100_store_functions) against the
-- one-session ones: each rule is written in both forms, so every case runs three ways,
-- through session_save_one / session_touch_one (one call per session), through
-- session_save / session_touch (one call for all), and through session_write (one call
-- for both kinds), and each must give the same outcome and leave the same row.
-- Each session's sid is the key (hex SHA-256) of '<form>:<case>', pg_temp.key below; outcomes
-- are mapped back to their case through it.
begin;
select plan(14);

create function pg_temp.key(p_name text) returns text language sql immutable
  as $$ select pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_name, 'UTF8')), 'hex') $$;

-- start: none (no row), live, expired (a row past its expiry), destroyed (a tombstone).
-- expiry: now() + offset, or null (then now() + 600 s, the ttl). Touches use touchAfter 60 s.
create temp table write_case (name text primary key, kind text, start text, data jsonb, expiry interval) on commit drop;
insert into write_case values
  ('save-new',            'save',  'none',      '{"v": "new"}',  interval '1 hour'),
  ('save-live',           'save',  'live',      '{"v": "new"}',  interval '2 hours'),
  ('save-over-expired',   'save',  'expired',   '{"v": "new"}',  interval '1 hour'),
  ('save-tombstone',      'save',  'destroyed', '{"v": "late"}', interval '1 hour'),
  ('save-past-live',      'save',  'live',      '{"v": "new"}',  interval '-1 second'),
  ('save-past-new',       'save',  'none',      '{"v": "new"}',  interval '-1 second'),
  ('save-ttl',            'save',  'live',      '{"v": "ttl"}',  null),
  ('touch-due',           'touch', 'live',      null,            interval '2 hours'),
  ('touch-within',        'touch', 'live',      null,            interval '1 hour 10 seconds'),
  ('touch-expired',       'touch', 'expired',   null,            interval '2 hours'),
  ('touch-tombstone',     'touch', 'destroyed', null,            interval '2 hours'),
  ('touch-unknown',       'touch', 'none',      null,            interval '2 hours'),
  ('touch-ttl',           'touch', 'live',      null,            null);

create temp table write_outcome (form text, name text, outcome text) on commit drop;

do $$
declare
  c record;
  form text;
  sids text[];
begin
  foreach form in array array['one', 'batch', 'write'] loop
    for c in select * from write_case loop
      if c.start = 'live' then
        insert into public.sessions (sid, data, expires_at) values (pg_temp.key(form || ':' || c.name), '{"v": "old"}', now() + interval '1 hour');
      elsif c.start = 'expired' then
        insert into public.sessions (sid, data, expires_at) values (pg_temp.key(form || ':' || c.name), '{"v": "old"}', now() - interval '1 minute');
      elsif c.start = 'destroyed' then
        perform public.session_destroy(pg_temp.key(form || ':' || c.name));
      end if;
    end loop;
  end loop;

  for c in select * from write_case loop
    if c.kind = 'save' then
      insert into write_outcome values ('one', c.name,
        public.session_save_one(pg_temp.key('one:' || c.name), c.data, now() + c.expiry, 600));
    else
      insert into write_outcome
        select 'one', c.name, 'touched'
         where public.session_touch_one(pg_temp.key('one:' || c.name), now() + c.expiry, 60, 600);
    end if;
  end loop;

  insert into write_outcome
    select 'batch', w.name, r.outcome
      from public.session_save(
             (select array_agg(pg_temp.key('batch:' || name) order by name) from write_case where kind = 'save'),
             (select jsonb_agg(data order by name) from write_case where kind = 'save'),
             (select array_agg(now() + expiry order by name) from write_case where kind = 'save'),
             600) r
      join write_case w on pg_temp.key('batch:' || w.name) = r.sid;
  insert into write_outcome
    select 'batch', w.name, 'touched'
      from public.session_touch(
             (select array_agg(pg_temp.key('batch:' || name) order by name) from write_case where kind = 'touch'),
             (select array_agg(now() + expiry order by name) from write_case where kind = 'touch'),
             60, 600) r
      join write_case w on pg_temp.key('batch:' || w.name) = r.sid;

  insert into write_outcome
    select 'write', w.name, r.outcome
      from public.session_write(
             (select array_agg(pg_temp.key('write:' || name) order by name) from write_case where kind = 'save'),
             (select jsonb_agg(data order by name) from write_case where kind = 'save'),
             (select array_agg(now() + expiry order by name) from write_case where kind = 'save'),
             (select array_agg(pg_temp.key('write:' || name) order by name desc) from write_case where kind = 'touch'),
             (select array_agg(now() + expiry order by name desc) from write_case where kind = 'touch'),
             60, 600) r
      join write_case w on pg_temp.key('write:' || w.name) = r.sid;
end;
$$;

-- What each form left behind, per case: the outcome and the row (or its absence).
create temp view write_result as
  select f.form, c.name, o.outcome,
         case when s.sid is null then 'no row'
              else format('%s, expires in %s, %s', s.data, s.expires_at - now(),
                          case when s.destroyed_at is null then 'not destroyed' else 'destroyed' end) end as state
    from write_case c
   cross join (values ('one'), ('batch'), ('write')) f(form)
    left join write_outcome o on o.form = f.form and o.name = c.name
    left join public.sessions s on s.sid = pg_temp.key(f.form || ':' || c.name);

select results_eq($$ select name, outcome, state from write_result where form = 'batch' order by name $$,
                  $$ select name, outcome, state from write_result where form = 'one' order by name $$,
  'session_save and session_touch: the outcome and the row of every case as the one-session functions give them');
select results_eq($$ select name, outcome, state from write_result where form = 'write' order by name $$,
                  $$ select name, outcome, state from write_result where form = 'one' order by name $$,
  'session_write: the outcome and the row of every case as the one-session functions give them');

-- And the rules themselves, so that the forms cannot agree on a wrong answer.
select results_eq($$ select name, outcome from write_result where form = 'write' and name like 'save-%' order by name $$,
  $$ values ('save-live', 'stored'), ('save-new', 'stored'), ('save-over-expired', 'stored'), ('save-past-live', 'expired'),
            ('save-past-new', 'expired'), ('save-tombstone', 'destroyed'), ('save-ttl', 'stored') $$,
  'saves: stored, expired when the expiry is past, destroyed for a tombstone');
select is((select state from write_result where form = 'write' and name = 'save-tombstone'),
  '{}, expires in 00:00:00, destroyed', 'a save never revives a tombstone');
select is((select state from write_result where form = 'write' and name = 'save-past-live'), 'no row',
  'a save with an expiry already past deletes the session');
select is((select state from write_result where form = 'write' and name = 'save-ttl'),
  '{"v": "ttl"}, expires in 00:10:00, not destroyed', 'no expiry: now() + ttl');
select results_eq($$ select name from write_result where form = 'write' and outcome = 'touched' order by name $$,
  array['touch-due', 'touch-ttl'],
  'touches write a live session moved by touchAfter or more, and nothing else');
select is((select state from write_result where form = 'write' and name = 'touch-due'),
  '{"v": "old"}, expires in 02:00:00, not destroyed', 'a touch moves the expiry, never the data');
select is((select state from write_result where form = 'write' and name = 'touch-within'),
  '{"v": "old"}, expires in 01:00:00, not destroyed', 'a touch by less than touchAfter writes nothing');
select is((select state from write_result where form = 'write' and name = 'touch-unknown'), 'no row',
  'a touch never creates a session');

-- session_write's own arguments.
select throws_ok($$ select * from public.session_write(array[pg_temp.key('w-both')], '[{}]', array[now() + interval '1 hour'],
                                                       array[pg_temp.key('w-both')], array[now() + interval '1 hour']) $$,
  '22023', 'a session id is either saved or touched in one call, not both', 'a sid both saved and touched is refused');
select throws_ok($$ select * from public.session_write(
                      (select array_agg(pg_temp.key('w-' || g)) from generate_series(1, 600) g),
                      (select jsonb_agg('{}'::jsonb) from generate_series(1, 600) g),
                      (select array_agg(now() + interval '1 hour') from generate_series(1, 600) g),
                      (select array_agg(pg_temp.key('w-t' || g)) from generate_series(1, 401) g),
                      (select array_agg(now() + interval '1 hour') from generate_series(1, 401) g)) $$,
  '22023', 'at most 1000 session ids per call, got 1001', 'at most 1000 sessions per call, both kinds counted');
select is_empty($$ select * from public.session_write('{}', '[]', '{}', '{}', '{}') $$, 'an empty call writes nothing');
select results_eq($$ select sid, outcome from public.session_write(array[pg_temp.key('w-only-save')], '[{"v": 1}]', array[now() + interval '1 hour'],
                                                                   null, null) $$,
  $$ values (pg_temp.key('w-only-save'), 'stored') $$, 'null touch lists: saves only');

select * from finish();
rollback;
