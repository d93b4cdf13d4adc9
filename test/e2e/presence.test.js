'use strict';
// PROTOCOL.md join_room / leave_room presence rules and the "Presence" fine print:
// user_joined, user_left, room_users (coalesced per room), second sockets announce nothing,
// max_listed_users cap with exact count.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const INTERVAL = 1000; // presence.room_users_interval used by this file's server
let server;
before(async () => {
  server = await h.startServer({ args: ['--presence.room_users_interval', '1s'] });
});
after(async () => { if (server) await server.stop(); });

const sortedIds = (users) => users.map((u) => u.userId);

/** Waits for a room_users of room whose list has exactly ids (sorted). */
function waitUsers(socket, room, ids, ms = 4000) {
  return h.waitFor(socket, 'room_users', (e) => e && e.roomId === room && e.count === ids.length
    && JSON.stringify(sortedIds(e.users)) === JSON.stringify(ids), ms);
}

test('join_room: others get user_joined at once; everyone incl. the joiner gets room_users (sorted, count)', async (t) => {
  const room = h.uniq('pj');
  const ua = 'pa-' + h.uniq('x');
  const ub = 'pb-' + h.uniq('x');
  const a = await h.connect(t, server, { sub: ua, name: 'A' });
  const b = await h.connect(t, server, { sub: ub, name: 'B' });
  const aFirst = waitUsers(a, room, [ua]);
  await h.join(a, room);
  const ev = await aFirst;
  assert.deepEqual(ev, { roomId: room, users: [{ userId: ua, userName: 'A' }], count: 1 });

  const joinedAtA = h.waitFor(a, 'user_joined', (e) => e.roomId === room);
  const usersAtA = waitUsers(a, room, [ua, ub]);
  const usersAtB = waitUsers(b, room, [ua, ub]);
  const noSelfJoin = h.expectNoEvent(b, 'user_joined', 800);
  const jb = await h.join(b, room);
  assert.deepEqual(jb.users, [{ userId: ua, userName: 'A' }, { userId: ub, userName: 'B' }]);
  assert.equal(jb.count, 2);
  // at once, not after the coalescing interval: A has it before a round trip of its own that
  // starts after B's join reply (events queued for A before that reply arrive first)
  await h.barrier(a, room);
  assert.ok(a.events.some((e) => e.event === 'user_joined' && e.args[0].userId === ub),
    'user_joined must not wait for the coalescing interval');
  assert.deepEqual(await joinedAtA, { roomId: room, userId: ub, userName: 'B' });
  const ra = await usersAtA;
  const rb = await usersAtB;
  assert.deepEqual(ra, rb);
  assert.deepEqual(ra.users, [{ userId: ua, userName: 'A' }, { userId: ub, userName: 'B' }]);
  await noSelfJoin;
});

test('room_users lists one entry per user sorted by userId', async (t) => {
  const room = h.uniq('sort');
  const ids = ['s-c', 's-a', 's-b'].map((p) => `${p}-${h.uniq('x')}`);
  const socks = [];
  for (const id of ids) {
    const s = await h.connect(t, server, { sub: id });
    socks.push(s);
  }
  // the first user twice (two devices): still one entry
  socks.push(await h.connect(t, server, { sub: ids[0] }));
  const expected = [...ids].sort();
  const final = waitUsers(socks[0], room, expected, 5000);
  for (const s of socks) await h.join(s, room);
  const ev = await final;
  assert.equal(ev.count, 3);
  const last = await h.join(socks[3], room);
  assert.deepEqual(sortedIds(last.users), expected);
});

test('Presence: a second socket of the same user joining announces nothing (no user_joined, no room_users to anyone)', async (t) => {
  const room = h.uniq('dup');
  const ua = 'd1-' + h.uniq('x');
  const ub = 'd2-' + h.uniq('x');
  const a1 = await h.connect(t, server, { sub: ua });
  const b = await h.connect(t, server, { sub: ub });
  await h.join(a1, room);
  const settled = waitUsers(b, room, [ua, ub]);
  await h.join(b, room);
  await settled; // the (possibly trailing) list after b's join has arrived: the room is quiet now
  await h.barrier(a1, room); // ... at a1 too (the same broadcast may reach it a little later)
  const a2 = await h.connect(t, server, { sub: ua, transport: 'polling' });
  const quiet = [a1, a2, b].map((s) => h.expectNoEvent(s, 'room_users', INTERVAL + 700));
  const noJoin = [a1, b].map((s) => h.expectNoEvent(s, 'user_joined', INTERVAL + 700));
  const r = await h.join(a2, room);
  assert.deepEqual(sortedIds(r.users), [ua, ub].sort(), 'the reply carries the list');
  assert.equal(r.count, 2);
  await Promise.all([...quiet, ...noJoin]);
});

test('Presence: a socket re-joining a room announces nothing', async (t) => {
  const room = h.uniq('rejoin');
  const ua = h.uniq('r1');
  const ub = h.uniq('r2');
  const a = await h.connect(t, server, { sub: ua });
  const b = await h.connect(t, server, { sub: ub });
  await h.join(a, room);
  const settled = waitUsers(a, room, [ua, ub].sort());
  await h.join(b, room);
  await settled;
  await Promise.all([a, b].map((s) => h.barrier(s, room)));
  const quiet = [a, b].map((s) => h.expectNoEvent(s, 'room_users', INTERVAL + 700));
  const noJoin = h.expectNoEvent(a, 'user_joined', INTERVAL + 700);
  const r = await h.join(b, room);
  assert.equal(r.count, 2);
  await Promise.all([...quiet, noJoin]);
});

test('leave_room: user_left and room_users only when the user\'s last socket leaves', async (t) => {
  const room = h.uniq('left');
  const ua = 'l1-' + h.uniq('x');
  const ub = 'l2-' + h.uniq('x');
  const a = await h.connect(t, server, { sub: ua, name: 'A' });
  const b1 = await h.connect(t, server, { sub: ub, name: 'B' });
  const b2 = await h.connect(t, server, { sub: ub, name: 'B' });
  await h.join(a, room);
  const settled = waitUsers(a, room, [ua, ub]);
  await h.join(b1, room);
  await h.join(b2, room);
  await settled;
  await Promise.all([a, b1, b2].map((s) => h.barrier(s, room)));

  // first of b's two sockets leaves: nothing announced
  const quietLeft = h.expectNoEvent(a, 'user_left', INTERVAL + 700);
  const quietUsers = [a, b2].map((s) => h.expectNoEvent(s, 'room_users', INTERVAL + 700));
  assert.equal((await h.emitAck(b1, 'leave_room', room)).success, true);
  await Promise.all([quietLeft, ...quietUsers]);

  // the last one leaves: user_left at once, then room_users with the new list
  const left = h.waitFor(a, 'user_left', (e) => e.roomId === room);
  const users = waitUsers(a, room, [ua]);
  const noSelf = h.expectNoEvent(b2, 'room_users', INTERVAL + 700);
  assert.equal((await h.emitAck(b2, 'leave_room', room)).success, true);
  assert.deepEqual(await left, { roomId: room, userId: ub, userName: 'B' });
  assert.deepEqual((await users).users, [{ userId: ua, userName: 'A' }]);
  await noSelf; // b2 left the room, it is not told about it any more
});

test('disconnect: user_left and room_users only when the user\'s last socket in the room disconnects', async (t) => {
  for (const transport of ['websocket', 'polling']) {
    const room = h.uniq('disc');
    const ua = 'x1-' + h.uniq('x');
    const ub = 'x2-' + h.uniq('x');
    const a = await h.connect(t, server, { sub: ua });
    const b1 = await h.connect(t, server, { sub: ub, transport });
    const b2 = await h.connect(t, server, { sub: ub, transport });
    await h.join(a, room);
    const settled = waitUsers(a, room, [ua, ub]);
    await h.join(b1, room);
    await h.join(b2, room);
    await settled;

    const quietLeft = h.expectNoEvent(a, 'user_left', INTERVAL + 700);
    h.closeSocket(b1);
    await quietLeft;

    const left = h.waitFor(a, 'user_left', (e) => e.roomId === room && e.userId === ub);
    const users = waitUsers(a, room, [ua]);
    h.closeSocket(b2);
    await left;
    await users;
  }
});

test('room_users follows a leave and re-join within the interval: the new socket and the room get the list again', async (t) => {
  const room = h.uniq('ru');
  const ua = 'ra-' + h.uniq('x');
  const ub = 'rb-' + h.uniq('x');
  const a = await h.connect(t, server, { sub: ua, name: 'A' });
  const b1 = await h.connect(t, server, { sub: ub, name: 'B' });
  const b2 = await h.connect(t, server, { sub: ub, name: 'B' });
  const first = waitUsers(a, room, [ua]);
  await h.join(a, room);
  await first;
  // wait out the interval so b1's join opens a new coalescing window (nothing else to wait on)
  await h.sleep(INTERVAL + 500);

  // b1 joins: the list [A, B] goes out at once and a window opens
  const both = waitUsers(a, room, [ua, ub]);
  await h.join(b1, room);
  await both;
  await h.sleep(200);

  // within that window b1 disconnects and b2, B's new socket, joins: the list is [A, B] again
  const left = h.waitFor(a, 'user_left', (e) => e.roomId === room && e.userId === ub);
  h.closeSocket(b1);
  await left;
  const usersAtA = waitUsers(a, room, [ua, ub]); // only lists that arrive after user_left
  const usersAtB2 = waitUsers(b2, room, [ua, ub]);
  const joinedAtA = h.waitFor(a, 'user_joined', (e) => e.roomId === room && e.userId === ub);
  const r = await h.join(b2, room);
  assert.deepEqual(sortedIds(r.users), [ua, ub].sort(), 'the reply carries the list');
  await joinedAtA;
  const expected = [{ userId: ua, userName: 'A' }, { userId: ub, userName: 'B' }];
  assert.deepEqual((await usersAtB2).users, expected, 'the joiner b2 gets room_users');
  assert.deepEqual((await usersAtA).users, expected, 'user_left / user_joined are followed by room_users');
});

test('room_users is coalesced: a burst of joins yields at most a leading and one trailing list with the final state', async (t) => {
  const room = h.uniq('burst');
  const obsId = 'o-' + h.uniq('x');
  const obs = await h.connect(t, server, { sub: obsId });
  const first = waitUsers(obs, room, [obsId]);
  await h.join(obs, room);
  await first;
  // wait out the interval so the burst starts after a quiet period (nothing else to wait on)
  await h.sleep(INTERVAL + 200);

  const N = 10;
  const ids = Array.from({ length: N }, (_, i) => `b${String(i).padStart(2, '0')}-${h.uniq('x')}`);
  const socks = await Promise.all(ids.map((id) => h.connect(t, server, { sub: id })));
  const lists = h.collect(obs, 'room_users', (e) => e.roomId === room);
  const joined = h.collect(obs, 'user_joined', (e) => e.roomId === room);
  const expected = [obsId, ...ids].sort();
  const final = waitUsers(obs, room, expected, 5000);
  const t0 = Date.now();
  await Promise.all(socks.map((s) => h.join(s, room)));
  const burstMs = Date.now() - t0;
  await final;
  // nothing more after the final list
  await h.expectNoEvent(obs, 'room_users', INTERVAL + 500);
  assert.equal(joined.length, N, 'user_joined is not coalesced: one per new user');
  const allowed = 2 + Math.floor(burstMs / INTERVAL);
  assert.ok(lists.length <= allowed, `${lists.length} room_users for a burst of ${N} joins in ${burstMs}ms (allowed ${allowed}): ${JSON.stringify(lists.map((l) => l.count))}`);
  assert.ok(lists.length >= 1);
  const last = lists[lists.length - 1];
  assert.equal(last.count, N + 1);
  assert.deepEqual(sortedIds(last.users), expected);
  // each joiner also ends with the final list
  const lastAtJoiner = socks[0].events.filter((e) => e.event === 'room_users').pop();
  assert.ok(lastAtJoiner, 'joiner got room_users');
  assert.equal(lastAtJoiner.args[0].count, N + 1);
});

test('presence.max_listed_users caps every users list; count stays exact', async (t) => {
  const s = await h.startServer({ args: ['--presence.max_listed_users', '2', '--presence.room_users_interval', '1s'] });
  t.after(() => s.stop());
  const room = h.uniq('cap');
  const ids = ['c1', 'c2', 'c3', 'c4'];
  const socks = [];
  for (const id of ids) socks.push(await h.connect(t, s, { sub: id }));
  const final = h.waitFor(socks[0], 'room_users', (e) => e.roomId === room && e.count === 4, 5000);
  let reply;
  for (const sock of socks) reply = await h.join(sock, room);
  assert.equal(reply.count, 4);
  assert.equal(reply.users.length, 2, `join reply lists ${reply.users.length} users`);
  const ev = await final;
  assert.equal(ev.users.length, 2, `room_users lists ${ev.users.length} users`);
  for (const list of [reply.users, ev.users]) {
    const got = sortedIds(list);
    assert.deepEqual(got, [...got].sort(), 'sorted by userId');
    for (const id of got) assert.ok(ids.includes(id));
  }
  const api = await h.http(s, 'GET', `/api/v1/rooms/${room}/users?namespace=/`);
  assert.equal(api.status, 200, api.text);
  assert.equal(api.body.count, 4);
  assert.equal(api.body.users.length, 2);
});

test('disconnect announces user_left in every room the socket had joined', async (t) => {
  const r1 = h.uniq('m1'); const r2 = h.uniq('m2');
  const w1 = await h.connect(t, server, { sub: h.uniq('w') });
  const w2 = await h.connect(t, server, { sub: h.uniq('w') });
  await h.join(w1, r1); await h.join(w2, r2);
  const sub = h.uniq('multi');
  const x = await h.connect(t, server, { sub });
  await h.join(x, r1); await h.join(x, r2);
  const l1 = h.waitFor(w1, 'user_left', (e) => e.roomId === r1 && e.userId === sub);
  const l2 = h.waitFor(w2, 'user_left', (e) => e.roomId === r2 && e.userId === sub);
  h.closeSocket(x);
  await l1; await l2;
});

test('room_users coalescing runs per room: a pending trailing list in one room does not delay another room', async (t) => {
  const ra = h.uniq('ca'); const rb = h.uniq('cb');
  const x = await h.connect(t, server, { sub: h.uniq('x') });
  const y = await h.connect(t, server, { sub: h.uniq('y') });
  const z = await h.connect(t, server, { sub: h.uniq('z') });
  await h.join(x, ra);
  await h.join(y, ra); // room A now has a trailing room_users pending
  await h.join(z, rb);
  // sent at once: z has it before a round trip that starts after its join reply
  await h.barrier(z, rb);
  assert.ok(z.events.some((e) => e.event === 'room_users' && e.args[0].roomId === rb),
    "room B's first list waited for room A's pending trailing one");
});

test('presence.max_listed_users 2 with three users: room_users and the join reply list the first two by userId; count is 3', async (t) => {
  const s = await h.startServer({ args: ['--presence.max_listed_users', '2', '--presence.room_users_interval', '300ms'] });
  t.after(() => s.stop());
  const room = h.uniq('cap3');
  const p = h.uniq('u');
  const [u1, u2, u3] = [`${p}-1`, `${p}-2`, `${p}-3`];
  const entry = (id) => ({ userId: id, userName: `N${id.slice(-1)}` });
  // they join in reverse userId order, so "the first two" are not simply the first joiners
  const s3 = await h.connect(t, s, { sub: u3, name: 'N3' });
  const s2 = await h.connect(t, s, { sub: u2, name: 'N2' });
  const s1 = await h.connect(t, s, { sub: u1, name: 'N1' });
  const r3 = await h.join(s3, room);
  assert.deepEqual([r3.users, r3.count], [[entry(u3)], 1]);
  const r2 = await h.join(s2, room);
  assert.deepEqual([r2.users, r2.count], [[entry(u2), entry(u3)], 2]);
  const finals = [s1, s2, s3].map((sock) => h.waitFor(sock, 'room_users', (e) => e && e.roomId === room && e.count === 3, 5000));
  const r1 = await h.join(s1, room);
  assert.equal(r1.count, 3, 'count is exact');
  assert.deepEqual(r1.users, [entry(u1), entry(u2)], 'the join reply lists the first max_listed_users users by userId');
  for (const ev of await Promise.all(finals)) {
    assert.deepEqual(ev, { roomId: room, users: [entry(u1), entry(u2)], count: 3 }, 'room_users lists the first two, count 3');
  }
});

test('presence.room_users_interval 300ms: a burst of joins gives the early member one leading and one trailing room_users (final count), nothing more; after a quiet period the next change goes out at once', async (t) => {
  const IV = 300;
  const s = await h.startServer({ args: ['--presence.room_users_interval', `${IV}ms`] });
  t.after(() => s.stop());
  const room = h.uniq('iv');
  const obsId = 'a-' + h.uniq('x');
  const obs = await h.connect(t, s, { sub: obsId });
  const N = 5;
  const ids = Array.from({ length: N }, (_, i) => `b${i}-${h.uniq('x')}`);
  const socks = await Promise.all(ids.map((id) => h.connect(t, s, { sub: id })));
  const lateId = 'z-' + h.uniq('x');
  const late = await h.connect(t, s, { sub: lateId });
  const lists = h.collect(obs, 'room_users', (e) => e && e.roomId === room);
  const counts = (sock) => sock.events.filter((e) => e.event === 'room_users' && e.args[0].roomId === room).map((e) => e.args[0].count);

  // the first change after a quiet period: the list goes out at once
  await h.join(obs, room);
  await h.barrier(obs, room);
  assert.deepEqual(lists.map((l) => l.count), [1], 'leading room_users at once');

  // a burst of joins within the interval: folded into one trailing list with the final state
  const expected = [obsId, ...ids].sort();
  const final = waitUsers(obs, room, expected, 5000);
  const t0 = Date.now();
  await Promise.all(socks.map((sock) => h.join(sock, room)));
  const burstMs = Date.now() - t0;
  await final;
  await h.expectNoEvent(obs, 'room_users', IV + 400); // nothing more (and the room is quiet again)
  assert.deepEqual(lists.map((l) => l.count), [1, N + 1], `one leading and one trailing list (burst took ${burstMs} ms)`);
  assert.deepEqual(sortedIds(lists[1].users), expected);
  for (const sock of socks) assert.deepEqual(counts(sock), [N + 1], 'a joiner within the interval gets the trailing list only');

  // more than the interval has passed without a change: the next join is again sent at once,
  // so the joiner has the list before a round trip after its join reply comes back
  const atObs = waitUsers(obs, room, [...expected, lateId].sort(), 3000);
  const r = await h.join(late, room);
  assert.equal(r.count, N + 2);
  await h.barrier(late, room);
  assert.deepEqual(counts(late), [N + 2], `the first change after a quiet period of over ${IV} ms is sent at once`);
  await atObs;
});
