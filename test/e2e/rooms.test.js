'use strict';
// PROTOCOL.md "Namespaces", "Rooms", join_room / leave_room, personal rooms, rooms claim and
// default policy.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let server;
before(async () => {
  server = await h.startServer({ args: ['--limits.messages_per_second', '1000', '--limits.message_burst', '1000'] });
});
after(async () => { if (server) await server.stop(); });

describe('join_room', () => {
  test('reply shape { success, roomId, users, count, history, lastReadMessageId, unreadCount } on a fresh room', async (t) => {
    const sub = h.uniq('u');
    const a = await h.connect(t, server, { sub, name: 'Ann' });
    const room = h.uniq('shape');
    const r = await h.emitAck(a, 'join_room', { roomId: room });
    assert.deepEqual(r, {
      success: true, roomId: room, users: [{ userId: sub, userName: 'Ann' }], count: 1,
      history: [], lastReadMessageId: null, unreadCount: 0,
    });
  });

  test('roomId may be a bare string, an object { roomId } or the alias { room }', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    for (const form of ['bare', 'roomId', 'room']) {
      const room = h.uniq(form);
      const payload = form === 'bare' ? room : { [form]: room };
      const r = await h.emitAck(a, 'join_room', payload);
      assert.equal(r.success, true, `${form}: ${JSON.stringify(r)}`);
      assert.equal(r.roomId, room);
      // really joined: this socket may send there
      await h.send(a, room, `via ${form}`);
    }
  });

  test('the alias { room } names the room in every room event: fetch_history, read_messages, typing_start/typing_end, leave_room', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    const b = await h.connect(t, server, { sub: h.uniq('u') });
    const room = h.uniq('alias');
    for (const x of [a, b]) await h.join(x, room);
    const sent = await h.send(a, room, 'aliased');

    const page = await h.emitAck(b, 'fetch_history', { room });
    assert.equal(page.success, true, JSON.stringify(page));
    assert.deepEqual([page.roomId, page.messages.map((m) => m.id)], [room, [sent.message.id]]);

    const read = await h.emitAck(b, 'read_messages', { room, messageId: sent.message.id });
    assert.deepEqual([read.success, read.roomId, read.messageId, read.unreadCount], [true, room, sent.message.id, 0], JSON.stringify(read));

    await h.settle(a, room); // user_typing is volatile: let the receiver go idle first
    const typing = h.waitFor(a, 'user_typing', (e) => e.roomId === room && e.typing === true);
    assert.equal((await h.emitAck(b, 'typing_start', { room })).success, true);
    await typing;
    const stopped = h.waitFor(a, 'user_typing', (e) => e.roomId === room && e.typing === false);
    assert.equal((await h.emitAck(b, 'typing_end', { room })).success, true);
    await stopped;

    const left = await h.emitAck(b, 'leave_room', { room });
    assert.deepEqual(left, { success: true, roomId: room });
    h.assertFail(await h.emitAck(b, 'send_message', { roomId: room, content: 'gone' }), 'forbidden', 'left via the alias');
  });

  test('history is the newest historyLimit messages, oldest first; default 50', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    const room = h.uniq('hist');
    await h.join(a, room);
    const ids = [];
    for (let i = 0; i < 55; i++) ids.push((await h.send(a, room, `m${i}`)).message.id);

    const b = await h.connect(t, server, { sub: h.uniq('u') });
    const def = await h.join(b, room);
    assert.equal(def.history.length, 50);
    assert.deepEqual(def.history.map((m) => m.id), ids.slice(5));
    assert.deepEqual(def.history.map((m) => m.content), Array.from({ length: 50 }, (_, i) => `m${i + 5}`));
    def.history.forEach((m) => h.assertMessage(m, { roomId: room }));

    const c = await h.connect(t, server, { sub: h.uniq('u') });
    const three = await h.join(c, room, { historyLimit: 3 });
    assert.deepEqual(three.history.map((m) => m.id), ids.slice(52));
    const zero = await h.join(c, room, { historyLimit: 0 });
    assert.deepEqual(zero.history, []);
    const max = await h.join(c, room, { historyLimit: 200 });
    assert.deepEqual(max.history.map((m) => m.id), ids);
    const nul = await h.join(c, room, { historyLimit: null });
    assert.equal(nul.history.length, 50, 'null historyLimit means absent (default 50)');
  });

  test('history.default_limit configures the default history size', async (t) => {
    const s = await h.startServer({ args: ['--history.default_limit', '2'] });
    t.after(() => s.stop());
    const a = await h.connect(t, s, { sub: h.uniq('u') });
    const room = h.uniq('dl');
    await h.join(a, room);
    for (let i = 0; i < 4; i++) await h.send(a, room, `d${i}`);
    const b = await h.connect(t, s, { sub: h.uniq('u') });
    const r = await h.join(b, room);
    assert.deepEqual(r.history.map((m) => m.content), ['d2', 'd3']);
  });

  test('historyLimit outside 0..200 or not an integer is bad_request', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    for (const historyLimit of [201, -1, 1.5, '5', true, {}]) {
      h.assertFail(await h.emitAck(a, 'join_room', { roomId: h.uniq('hl'), historyLimit }), 'bad_request', `historyLimit ${JSON.stringify(historyLimit)}`);
    }
  });

  test('joining again is harmless (same reply data, still joined)', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    const room = h.uniq('again');
    const r1 = await h.join(a, room);
    const r2 = await h.join(a, room);
    assert.deepEqual(r2, r1);
    await h.send(a, room, 'still joined');
  });

  test('a roomId of 128 characters is accepted, 129 is bad_request, bad characters are bad_request', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    const ok = 'R' + 'a'.repeat(127);
    assert.equal((await h.emitAck(a, 'join_room', ok)).success, true);
    assert.equal((await h.emitAck(a, 'join_room', 'x.y_z:w-1')).success, true);
    h.assertFail(await h.emitAck(a, 'join_room', 'R' + 'a'.repeat(128)), 'bad_request', '129 chars');
    for (const bad of ['', '-x', '_x', '.x', 'a b', 'a/b', 'ä', 'a#b', 'room\n']) {
      h.assertFail(await h.emitAck(a, 'join_room', bad), 'bad_request', `roomId ${JSON.stringify(bad)}`);
    }
  });

  test('limits.max_rooms_per_socket caps the rooms one socket may join', async (t) => {
    const s = await h.startServer({ args: ['--limits.max_rooms_per_socket', '2'] });
    t.after(() => s.stop());
    const a = await h.connect(t, s, { sub: h.uniq('u') });
    await h.join(a, h.uniq('m1'));
    await h.join(a, h.uniq('m2'));
    const r = await h.emitAck(a, 'join_room', h.uniq('m3'));
    assert.equal(r.success, false, JSON.stringify(r));
    assert.ok(['forbidden', 'bad_request', 'rate_limited'].includes(r.code), JSON.stringify(r));
  });
});

describe('leave_room', () => {
  test('reply { success, roomId }; the socket no longer receives room messages nor may send', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    const b = await h.connect(t, server, { sub: h.uniq('u') });
    const room = h.uniq('leave');
    await h.join(a, room);
    await h.join(b, room);
    assert.deepEqual(await h.emitAck(a, 'leave_room', { roomId: room }), { success: true, roomId: room });
    const quiet = h.expectNoEvent(a, 'new_message', 500);
    await h.send(b, room, 'after leave');
    await quiet;
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'x' }), 'forbidden');
  });
  test('leave_room takes a bare string too', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    const room = h.uniq('leave');
    await h.join(a, room);
    assert.deepEqual(await h.emitAck(a, 'leave_room', room), { success: true, roomId: room });
  });
  test('leave_room of a room not joined succeeds', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    const room = h.uniq('never');
    assert.deepEqual(await h.emitAck(a, 'leave_room', { roomId: room }), { success: true, roomId: room });
  });
  test('leave_room without callback answers with the left_room event { roomId }', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    const room = h.uniq('lr');
    await h.join(a, room);
    const ev = h.waitFor(a, 'left_room', (r) => r && r.roomId === room);
    a.emit('leave_room', { roomId: room });
    const r = await ev;
    assert.equal(r.roomId, room);
  });
});

describe('rooms claim and default policy', () => {
  test('rooms claim patterns: exact names and * wildcards; anything else is forbidden', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u'), rooms: ['general', 'team-*', '*-ops'] });
    for (const ok of ['general', 'team-red', 'team-a.b', 'db-ops', 'team-x-ops']) {
      assert.equal((await h.emitAck(a, 'join_room', ok)).success, true, ok);
    }
    for (const no of ['generals', 'xgeneral', 'random', 'teamred', 'xteam-red', 'ops', 'db-opsx']) {
      h.assertFail(await h.emitAck(a, 'join_room', no), 'forbidden', no);
    }
  });
  test('an empty rooms claim allows no room', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u'), rooms: [] });
    h.assertFail(await h.emitAck(a, 'join_room', 'general'), 'forbidden');
  });
  test('closed default policy: a token without rooms claim may join nothing; a rooms claim still applies', async (t) => {
    const s = await h.startServer({ args: ['--rooms.default_policy', 'closed'] });
    t.after(() => s.stop());
    const none = await h.connect(t, s, { sub: h.uniq('u') });
    h.assertFail(await h.emitAck(none, 'join_room', 'general'), 'forbidden');
    h.assertFail(await h.emitAck(none, 'fetch_history', { roomId: 'general' }), 'forbidden');
    const claim = await h.connect(t, s, { sub: h.uniq('u'), rooms: ['general'] });
    assert.equal((await h.emitAck(claim, 'join_room', 'general')).success, true);
    h.assertFail(await h.emitAck(claim, 'join_room', 'other'), 'forbidden');
  });
  test('open default policy: a token without rooms claim may join any valid room', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    assert.equal((await h.emitAck(a, 'join_room', h.uniq('any'))).success, true);
  });
});

describe('personal rooms user:<sub>', () => {
  test('joining a user: room is forbidden, even one\'s own', async (t) => {
    const sub = h.uniq('me');
    const a = await h.connect(t, server, { sub, rooms: ['*'] });
    h.assertFail(await h.emitAck(a, 'join_room', `user:${sub}`), 'forbidden', 'own');
    h.assertFail(await h.emitAck(a, 'join_room', { roomId: 'user:other' }), 'forbidden', 'other');
  });
  test('user: rooms named in any client event are forbidden', async (t) => {
    const sub = h.uniq('me');
    const a = await h.connect(t, server, { sub });
    const room = `user:${sub}`;
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'x' }), 'forbidden', 'send_message');
    h.assertFail(await h.emitAck(a, 'fetch_history', { roomId: room }), 'forbidden', 'fetch_history');
    h.assertFail(await h.emitAck(a, 'typing_start', { roomId: room }), 'forbidden', 'typing_start');
    h.assertFail(await h.emitAck(a, 'typing_end', room), 'forbidden', 'typing_end');
    h.assertFail(await h.emitAck(a, 'read_messages', { roomId: room, messageId: 'x' }), 'forbidden', 'read_messages');
    h.assertFail(await h.emitAck(a, 'leave_room', room), 'forbidden', 'leave_room');
  });
  test('HTTP emit to user:<sub> in /chat reaches the user\'s /chat sockets only', async (t) => {
    const sub = h.uniq('dev');
    const inChat = await h.connect(t, server, { sub, nsp: '/chat' });
    const inRoot = await h.connect(t, server, { sub });
    const got = h.waitFor(inChat, 'ping_chat');
    const quiet = h.expectNoEvent(inRoot, 'ping_chat', 700);
    const res = await h.http(server, 'POST', '/api/v1/emit', { body: { namespace: '/chat', rooms: [`user:${sub}`], event: 'ping_chat', data: 1 } });
    assert.equal(res.status, 202, res.text);
    assert.equal(await got, 1);
    await quiet;
  });
  test('HTTP emit to user:<sub> reaches every device of that user and nobody else', async (t) => {
    const sub = h.uniq('dev');
    const d1 = await h.connect(t, server, { sub, transport: 'websocket' });
    const d2 = await h.connect(t, server, { sub, transport: 'polling' });
    const d3 = await h.connect(t, server, { sub, client: 'v2' });
    const other = await h.connect(t, server, { sub: h.uniq('other') });
    const waits = [d1, d2, d3].map((s) => h.waitFor(s, 'notification', (d) => d && d.n === 7));
    const quiet = h.expectNoEvent(other, 'notification', 700);
    const res = await h.http(server, 'POST', '/api/v1/emit', { body: { rooms: [`user:${sub}`], event: 'notification', data: { n: 7 } } });
    assert.equal(res.status, 202, res.text);
    for (const w of waits) assert.deepEqual(await w, { n: 7 });
    await quiet;
  });
});

describe('namespaces', () => {
  test('/ and /chat are isolated: same room name, separate history, broadcasts and presence', async (t) => {
    const room = h.uniq('general');
    const root = await h.connect(t, server, { sub: h.uniq('a'), nsp: '/' });
    const chat = await h.connect(t, server, { sub: h.uniq('b'), nsp: '/chat' });
    const r1 = await h.join(root, room);
    const r2 = await h.join(chat, room);
    assert.equal(r1.count, 1);
    assert.equal(r2.count, 1, 'presence of / leaked into /chat');
    const noRoot = h.expectNoEvent(root, 'new_message', 600);
    const noJoin = h.expectNoEvent(root, 'user_joined', 600);
    const sent = await h.send(chat, room, 'only in /chat');
    assert.equal(sent.message.roomId, room);
    await noRoot;
    await noJoin;
    const hRoot = await h.emitAck(root, 'fetch_history', { roomId: room });
    assert.deepEqual(hRoot.messages, [], 'history of /chat leaked into /');
    const hChat = await h.emitAck(chat, 'fetch_history', { roomId: room });
    assert.deepEqual(hChat.messages.map((m) => m.content), ['only in /chat']);
    // read cursors are per namespace too: user x reads in /chat, its cursor in / is untouched
    const x = h.uniq('x');
    const xs = await h.send(root, room, 'only in /');
    const xChat = await h.connect(t, server, { sub: x, nsp: '/chat' });
    await h.join(xChat, room);
    const rd = await h.emitAck(xChat, 'read_messages', { roomId: room, messageId: sent.message.id });
    assert.equal(rd.success, true, JSON.stringify(rd));
    assert.equal(rd.unreadCount, 0);
    const xRoot = await h.connect(t, server, { sub: x, nsp: '/' });
    const j = await h.join(xRoot, room);
    assert.deepEqual(j.history.map((m) => m.id), [xs.message.id]);
    assert.equal(j.lastReadMessageId, null);
    assert.equal(j.unreadCount, 1);
  });

  test('every chat namespace serves the protocol (/chat: join, send, new_message, typing, read)', async (t) => {
    const room = h.uniq('chatns');
    const a = await h.connect(t, server, { sub: h.uniq('a'), nsp: '/chat' });
    const b = await h.connect(t, server, { sub: h.uniq('b'), nsp: '/chat', client: 'v2' });
    await h.join(a, room);
    await h.join(b, room);
    const got = h.waitFor(b, 'new_message', (m) => m.content === 'hi chat');
    const r = await h.send(a, room, 'hi chat');
    assert.deepEqual(await got, r.message);
    const typing = h.waitFor(b, 'user_typing', (e) => e.roomId === room && e.typing === true);
    assert.equal((await h.emitAck(a, 'typing_start', room)).success, true);
    await typing;
    const rd = await h.emitAck(b, 'read_messages', { roomId: room, messageId: r.message.id });
    assert.equal(rd.unreadCount, 0);
  });

  test('dynamic namespaces by namespace_pattern serve the protocol and are isolated from each other', async (t) => {
    const s = await h.startServer({ args: ['--namespace_pattern', '^/tenant-[a-z0-9-]+$'] });
    t.after(() => s.stop());
    const room = 'lobby';
    const a = await h.connect(t, s, { sub: 'ta', nsp: '/tenant-acme' });
    const b = await h.connect(t, s, { sub: 'tb', nsp: '/tenant-acme', client: 'v2' });
    const c = await h.connect(t, s, { sub: 'tc', nsp: '/tenant-other-1' });
    await h.join(a, room);
    await h.join(b, room);
    const jc = await h.join(c, room);
    assert.equal(jc.count, 1);
    const got = h.waitFor(b, 'new_message', (m) => m.content === 'acme only');
    const quiet = h.expectNoEvent(c, 'new_message', 600);
    const r = await h.send(a, room, 'acme only');
    assert.deepEqual(await got, r.message);
    await quiet;
    const hc = await h.emitAck(c, 'fetch_history', { roomId: room });
    assert.deepEqual(hc.messages, []);
    // the static namespaces still work, names outside the pattern are refused
    const root = await h.connect(t, s, { sub: 'root' });
    await h.join(root, room);
    assert.equal((await h.connectError(s, { nsp: '/tenant_bad', sub: 'x' })).message, 'Invalid namespace');
    assert.equal((await h.connectError(s, { nsp: '/other', sub: 'x' })).message, 'Invalid namespace');
  });
});

test('namespaces config replaces the default list (--namespaces /,/support)', async (t) => {
  const s = await h.startServer({ args: ['--namespaces', '/,/support'] });
  t.after(() => s.stop());
  const a = await h.connect(t, s, { sub: 'ns-a', nsp: '/support' });
  const b = await h.connect(t, s, { sub: 'ns-b', nsp: '/support', client: 'v2' });
  await h.join(a, 'desk');
  await h.join(b, 'desk');
  const got = h.waitFor(b, 'new_message', (m) => m.content === 'help');
  await h.send(a, 'desk', 'help');
  await got;
  assert.equal((await h.connectError(s, { nsp: '/chat', sub: 'x' })).message, 'Invalid namespace');
});
