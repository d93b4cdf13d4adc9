'use strict';
// PROTOCOL.md "Typing": typing_start / typing_end / typing alias, user_typing to the others
// (not the sending socket), typing:false on leave/disconnect while typing, needs the room
// joined by this socket, throttled typing still success:true, never stored.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let server;
before(async () => { server = await h.startServer(); });
after(async () => { if (server) await server.stop(); });

async function trio(t, opts = {}) {
  const room = h.uniq('typ');
  const subA = h.uniq('a');
  const a = await h.connect(t, server, { sub: subA, name: 'Alice', ...opts });
  const a2 = await h.connect(t, server, { sub: subA, name: 'Alice', ...opts });
  const b = await h.connect(t, server, { sub: h.uniq('b'), name: 'Bob', ...opts });
  for (const s of [a, a2, b]) await h.join(s, room);
  // user_typing is volatile: let the receivers go idle first (see harness settle)
  await Promise.all([a2, b].map((s) => h.settle(s, room)));
  return { room, subA, a, a2, b };
}

for (const transport of ['websocket', 'polling']) {
  test(`typing_start: the others in the room (incl. the user's other socket) get user_typing; the sending socket does not (${transport})`, async (t) => {
    const { room, subA, a, a2, b } = await trio(t, { transport });
    const atB = h.waitFor(b, 'user_typing', (e) => e.roomId === room);
    const atA2 = h.waitFor(a2, 'user_typing', (e) => e.roomId === room);
    const notSelf = h.expectNoEvent(a, 'user_typing', 700);
    const r = await h.emitAck(a, 'typing_start', { roomId: room });
    assert.deepEqual(r, { success: true, roomId: room });
    assert.deepEqual(await atB, { roomId: room, userId: subA, userName: 'Alice', typing: true });
    assert.deepEqual(await atA2, { roomId: room, userId: subA, userName: 'Alice', typing: true });
    await notSelf;
  });
}

test('typing_end sends typing:false; bare string roomId works', async (t) => {
  const { room, subA, a, b } = await trio(t);
  const on = h.waitFor(b, 'user_typing', (e) => e.typing === true);
  assert.deepEqual(await h.emitAck(a, 'typing_start', room), { success: true, roomId: room });
  await on;
  await h.settle(b, room);
  const off = h.waitFor(b, 'user_typing', (e) => e.typing === false);
  assert.deepEqual(await h.emitAck(a, 'typing_end', room), { success: true, roomId: room });
  assert.deepEqual(await off, { roomId: room, userId: subA, userName: 'Alice', typing: false });
});

test('typing is an alias of typing_start', async (t) => {
  const { room, a, b } = await trio(t, { client: 'v2' });
  const on = h.waitFor(b, 'user_typing', (e) => e.roomId === room && e.typing === true);
  assert.deepEqual(await h.emitAck(a, 'typing', { roomId: room }), { success: true, roomId: room });
  await on;
});

test('typing needs the room joined by this socket (forbidden otherwise), nothing reaches the room', async (t) => {
  const { room, subA, b } = await trio(t);
  const outsider = await h.connect(t, server, { sub: subA }); // same user, this socket not joined
  const quiet = h.expectNoEvent(b, 'user_typing', 700);
  h.assertFail(await h.emitAck(outsider, 'typing_start', { roomId: room }), 'forbidden', 'typing_start');
  h.assertFail(await h.emitAck(outsider, 'typing', room), 'forbidden', 'typing');
  h.assertFail(await h.emitAck(outsider, 'typing_end', { roomId: room }), 'forbidden', 'typing_end');
  await quiet;
});

test('leaving the room while typing sends typing:false', async (t) => {
  const { room, subA, a, b } = await trio(t);
  const on = h.waitFor(b, 'user_typing', (e) => e.typing === true);
  await h.emitAck(a, 'typing_start', room);
  await on;
  await h.settle(b, room);
  const off = h.waitFor(b, 'user_typing', (e) => e.typing === false);
  await h.emitAck(a, 'leave_room', room);
  assert.deepEqual(await off, { roomId: room, userId: subA, userName: 'Alice', typing: false });
});

for (const transport of ['websocket', 'polling']) {
  test(`disconnecting while typing sends typing:false (${transport})`, async (t) => {
    const { room, subA, a, b } = await trio(t, { transport });
    const on = h.waitFor(b, 'user_typing', (e) => e.typing === true);
    await h.emitAck(a, 'typing_start', room);
    await on;
    await h.settle(b, room);
    const off = h.waitFor(b, 'user_typing', (e) => e.typing === false);
    h.closeSocket(a);
    assert.deepEqual(await off, { roomId: room, userId: subA, userName: 'Alice', typing: false });
  });
}

test('typing:false on leave is only sent while typing', async (t) => {
  const { room, a, b } = await trio(t);
  const quiet = h.expectNoEvent(b, 'user_typing', 800);
  await h.emitAck(a, 'leave_room', room);
  await quiet;
});

test('throttled typing still gets success:true, excess typing:true is dropped silently, typing_end is not throttled', async (t) => {
  const { room, a, b } = await trio(t);
  const seen = h.collect(b, 'user_typing', (e) => e.roomId === room && e.typing === true);
  const N = 30;
  const replies = await Promise.all(Array.from({ length: N }, () => h.emitAck(a, 'typing_start', room)));
  replies.forEach((r) => assert.deepEqual(r, { success: true, roomId: room }));
  const off = h.waitFor(b, 'user_typing', (e) => e.typing === false);
  assert.deepEqual(await h.emitAck(a, 'typing_end', room), { success: true, roomId: room });
  await off;
  assert.ok(seen.length >= 1, 'at least the first typing:true is delivered');
  assert.ok(seen.length < N, `typing_start is not rate-limited: ${seen.length} of ${N} delivered`);
  assert.equal(a.connected, true);
});

test('typing is never stored', async (t) => {
  const { room, a, b } = await trio(t);
  const on = h.waitFor(b, 'user_typing', (e) => e.typing === true);
  await h.emitAck(a, 'typing_start', room);
  await on;
  const hist = await h.emitAck(b, 'fetch_history', { roomId: room });
  assert.deepEqual(hist.messages, []);
});

test('typing is rate-limited per socket: another socket of the same user has its own budget', async (t) => {
  const { room, subA, a, a2, b } = await trio(t);
  const N = 30;
  await Promise.all(Array.from({ length: N }, () => h.emitAck(a, 'typing_start', room)));
  await h.settle(b, room);
  // a is throttled now; a2 (same user) is not
  const fromA2 = h.waitFor(b, 'user_typing', (e) => e.roomId === room && e.userId === subA && e.typing === true, 3000);
  assert.deepEqual(await h.emitAck(a2, 'typing_start', room), { success: true, roomId: room });
  await fromA2;
});
