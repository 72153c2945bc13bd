-- A session's key. The table stores, as sid, the key: the hex SHA-256 of the cookie's
-- session id's UTF-8 bytes, which the store computes in the app process, and which is also
-- the handle an account page names the session by. session_handle computes the same digest
-- in SQL (the conversion of pre-release databases used it). These tests hold the SQL
-- digest to the plain definition, for the ids where a careless one would go wrong.
begin;
select plan(7);

select is(public.session_handle('Zx3vQ9_kL2mN8pR4tY6wA1bC5dE7fG0h'),
  pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('Zx3vQ9_kL2mN8pR4tY6wA1bC5dE7fG0h', 'UTF8')), 'hex'),
  'the key of an ASCII id is the hex SHA-256 of its bytes');
select is(public.session_handle('sésame-🔐-ключ'),
  pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('sésame-🔐-ключ', 'UTF8')), 'hex'),
  'the key of a non-ASCII id is the hex SHA-256 of its UTF-8 bytes');
select is(public.session_handle(E'a\\x41\\\\b\\'),
  pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(E'a\\x41\\\\b\\', 'UTF8')), 'hex'),
  'the key of an id with backslashes hashes them as themselves, not as bytea escapes');

-- What the check admits is what the derivation gives, and only that.
select ok(public.session_handle('cookie-id') ~ '^[0-9a-f]{64}$', 'a key is 64 lowercase hex digits');
select lives_ok($$ insert into public.sessions (sid, data, expires_at)
                   values (public.session_handle('cookie-id'), '{}', now() + interval '1 hour') $$,
  'the key derived from an id is accepted as a sid');
select throws_ok($$ insert into public.sessions (sid, data, expires_at)
                    values ('cookie-id-itself', '{}', now() + interval '1 hour') $$,
  '23514', null, 'the id itself is rejected as a sid');

-- A stored key presented as an id (a cookie carrying a key read from the table) is
-- hashed again by the store: it names another row, never the session it was read from.
select isnt(public.session_handle(public.session_handle('cookie-id')), public.session_handle('cookie-id'),
  'the key of a key is not that key');

select * from finish();
rollback;
