'use strict';
// PROTOCOL.md "Messages": send_message, fetch_history, the reply paths (ack, ack:<messageId>,
// error), idempotent retries, ordering and the message-related fine print.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let server;
before(async () => {
  server = await h.startServer({ args: ['--limits.messages_per_second', '5000', '--limits.message_burst', '5000'] });
});
after(async () => { if (server) await server.stop(); });

/** Two users joined in a fresh room. */
async function pair(t, opts = {}) {
  const room = h.uniq('msg');
  const a = await h.connect(t, server, { sub: h.uniq('a'), name: 'Alice', ...opts });
  const b = await h.connect(t, server, { sub: h.uniq('b'), name: 'Bob', ...opts });
  await h.join(a, room);
  await h.join(b, room);
  return { room, a, b };
}

describe('send_message', () => {
  test('reply { success, message, savedId }; Message shape; timestamp RFC 3339 UTC with milliseconds', async (t) => {
    const { room, a } = await pair(t);
    const before = Date.now();
    const r = await h.emitAck(a, 'send_message', { roomId: room, content: 'shape' });
    assert.deepEqual(Object.keys(r).sort(), ['message', 'savedId', 'success']);
    assert.equal(r.success, true);
    h.assertMessage(r.message, { roomId: room, userName: 'Alice', content: 'shape', replyTo: null, clientMessageId: null });
    assert.equal(r.savedId, r.message.id);
    assert.match(r.message.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const ts = Date.parse(r.message.timestamp);
    assert.ok(ts >= before - 2000 && ts <= Date.now() + 2000, `timestamp ${r.message.timestamp} is not now`);
  });

  test('new_message goes to everyone in the room, the sender included, and to nobody outside', async (t) => {
    const { room, a, b } = await pair(t);
    const outsider = await h.connect(t, server, { sub: h.uniq('o') });
    await h.join(outsider, h.uniq('elsewhere'));
    const atA = h.waitFor(a, 'new_message', (m) => m.content === 'to all');
    const atB = h.waitFor(b, 'new_message', (m) => m.content === 'to all');
    const quiet = h.expectNoEvent(outsider, 'new_message', 600);
    const r = await h.send(a, room, 'to all');
    assert.deepEqual(await atA, r.message);
    assert.deepEqual(await atB, r.message);
    await quiet;
    // exactly once at the sender
    await h.barrier(a, room);
    assert.equal(a.events.filter((e) => e.event === 'new_message' && e.args[0].id === r.message.id).length, 1);
  });

  test('the message is stored before anyone is told (history has it when new_message arrives)', async (t) => {
    const { room, a, b } = await pair(t);
    for (let i = 0; i < 5; i++) {
      const got = new Promise((resolve) => {
        b.once('new_message', (m) => {
          // ask for history the instant the broadcast arrives, over HTTP and over the socket
          resolve(Promise.all([
            h.http(server, 'GET', `/api/v1/rooms/${room}/messages?namespace=/&limit=1`),
            h.emitAck(b, 'fetch_history', { roomId: room, limit: 1 }),
          ]).then(([http, sock]) => ({ m, http, sock })));
        });
      });
      a.emit('send_message', { roomId: room, content: `stored-${i}` });
      const { m, http, sock } = await got;
      assert.equal(http.status, 200);
      assert.deepEqual(http.body.messages.map((x) => x.id), [m.id]);
      assert.deepEqual(sock.messages.map((x) => x.id), [m.id]);
    }
  });

  test('aliases: room for roomId, message for content', async (t) => {
    const { room, a, b } = await pair(t);
    const got = h.waitFor(b, 'new_message', (m) => m.content === 'aliased');
    const r = await h.emitAck(a, 'send_message', { room, message: 'aliased' });
    assert.equal(r.success, true, JSON.stringify(r));
    assert.equal(r.message.roomId, room);
    assert.equal(r.message.content, 'aliased');
    assert.deepEqual(await got, r.message);
  });

  test('userId / userName in the payload are ignored: identity comes from the token', async (t) => {
    const { room, a, b } = await pair(t);
    const got = h.waitFor(b, 'new_message', (m) => m.content === 'spoof');
    const r = await h.emitAck(a, 'send_message', { roomId: room, content: 'spoof', userId: 'admin', userName: 'Admin', id: 'x', timestamp: 'y' });
    assert.equal(r.success, true, JSON.stringify(r));
    assert.equal(r.message.userName, 'Alice');
    assert.notEqual(r.message.userId, 'admin');
    assert.notEqual(r.message.id, 'x');
    assert.equal((await got).userId, r.message.userId);
    const j = await h.join(a, room);
    assert.ok(j.users.some((u) => u.userId === r.message.userId && u.userName === 'Alice'));
  });

  test('unknown fields are ignored; null in optional fields means absent', async (t) => {
    const { room, a } = await pair(t);
    const r = await h.emitAck(a, 'send_message', { roomId: room, content: 'extra', foo: 1, bar: { x: [1] }, replyTo: null, messageId: null });
    assert.equal(r.success, true, JSON.stringify(r));
    assert.equal(r.message.replyTo, null);
    assert.equal(r.message.clientMessageId, null);
  });

  test('replyTo: the id of a message of the same room is kept; another room\'s or an unknown id is not_found', async (t) => {
    const { room, a, b } = await pair(t);
    const first = await h.send(a, room, 'question');
    const got = h.waitFor(a, 'new_message', (m) => m.content === 'answer');
    const r = await h.send(b, room, 'answer', { replyTo: first.message.id });
    assert.equal(r.message.replyTo, first.message.id);
    assert.equal((await got).replyTo, first.message.id);
    // message ids are unique within a room only: pick a message of another room whose id
    // is not also the id of a message of this room
    const other = h.uniq('other');
    await h.join(a, other);
    const here = new Set([first.message.id, r.message.id]);
    let elsewhere;
    do elsewhere = await h.send(a, other, 'elsewhere'); while (here.has(elsewhere.message.id));
    const quiet = h.expectNoEvent(b, 'new_message', 500);
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'x', replyTo: elsewhere.message.id }), 'not_found', 'other room');
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'x', replyTo: 'no-such-id' }), 'not_found', 'unknown');
    await quiet;
    const hist = await h.emitAck(a, 'fetch_history', { roomId: room });
    assert.deepEqual(hist.messages.map((m) => m.content), ['question', 'answer'], 'refused messages were stored');
  });

  test('Joined means this socket: sending to a room this socket has not joined is forbidden (even if another device of the user has)', async (t) => {
    const sub = h.uniq('j');
    const room = h.uniq('nj');
    const d1 = await h.connect(t, server, { sub });
    const d2 = await h.connect(t, server, { sub });
    await h.join(d1, room);
    const quiet = h.expectNoEvent(d1, 'new_message', 500);
    h.assertFail(await h.emitAck(d2, 'send_message', { roomId: room, content: 'nope' }), 'forbidden');
    h.assertFail(await h.emitAck(d2, 'send_message', { roomId: h.uniq('never'), content: 'nope' }), 'forbidden');
    await quiet;
  });

  test('Lengths count Unicode code points: 4000 emoji are accepted, 4001 characters are too_large', async (t) => {
    const { room, a, b } = await pair(t);
    const big = '😀'.repeat(4000);
    const r = await h.emitAck(a, 'send_message', { roomId: room, content: big });
    assert.equal(r.success, true, `4000 code points (8000 UTF-16 units) refused: ${JSON.stringify(r).slice(0, 200)}`);
    assert.equal(r.message.content, big);
    const quiet = h.expectNoEvent(b, 'new_message', 500, (m) => m.content.length > 8000 || m.content.length === 4001);
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'x'.repeat(4001) }), 'too_large');
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: '😀'.repeat(4001) }), 'too_large');
    await quiet;
  });

  test('limits.max_message_length configures the content limit', async (t) => {
    const s = await h.startServer({ args: ['--limits.max_message_length', '10'] });
    t.after(() => s.stop());
    const a = await h.connect(t, s, { sub: 'u' });
    const room = h.uniq('len');
    await h.join(a, room);
    assert.equal((await h.emitAck(a, 'send_message', { roomId: room, content: 'é'.repeat(10) })).success, true);
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'x'.repeat(11) }), 'too_large');
  });

  test('blank content (empty after trimming Unicode white space) is bad_request', async (t) => {
    const { room, a, b } = await pair(t);
    const quiet = h.expectNoEvent(b, 'new_message', 500);
    for (const c of ['', ' ', '\t\n\r ', '\u00a0', '\u2003\u3000\u2028']) {
      h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: c }), 'bad_request', JSON.stringify(c));
    }
    await quiet;
    assert.equal((await h.emitAck(a, 'send_message', { roomId: room, content: ' x ' })).success, true);
  });

  test('messageId: up to 128 characters accepted, 129 is bad_request', async (t) => {
    const { room, a } = await pair(t);
    const ok = await h.emitAck(a, 'send_message', { roomId: room, content: 'c', messageId: 'm'.repeat(128) });
    assert.equal(ok.success, true, JSON.stringify(ok));
    assert.equal(ok.message.clientMessageId, 'm'.repeat(128));
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'c', messageId: 'm'.repeat(129) }), 'bad_request');
    // lengths count code points: 128 emoji (256 UTF-16 units, 512 bytes) are fine, 129 are not
    const emoji = await h.emitAck(a, 'send_message', { roomId: room, content: 'c', messageId: '😀'.repeat(128) });
    assert.equal(emoji.success, true, JSON.stringify(emoji).slice(0, 200));
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'c', messageId: '😀'.repeat(129) }), 'bad_request');
  });

  test('Message ids are unique within a room and sort byte-wise in the order the room received them', async (t) => {
    const { room, a, b } = await pair(t);
    const ids = [];
    for (let i = 0; i < 30; i++) ids.push((await h.send(i % 2 ? a : b, room, `o${i}`)).message.id);
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.ok(h.byteCmp(ids[i - 1], ids[i]) < 0, `${ids[i - 1]} !< ${ids[i]}`);
    // ids from several rooms written concurrently still sort per room
    const r2 = h.uniq('conc');
    await h.join(a, r2);
    const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => h.send(a, r2, `c${i}`)));
    const hist = await h.emitAck(a, 'fetch_history', { roomId: r2, limit: 200 });
    const hids = hist.messages.map((m) => m.id);
    assert.deepEqual([...hids].sort(h.byteCmp), hids);
    assert.deepEqual(new Set(hids), new Set(sent.map((s) => s.message.id)));
  });
});

describe('replies without a callback', () => {
  test('send_message without callback but with messageId is answered on ack:<messageId> (success)', async (t) => {
    const { room, a, b } = await pair(t);
    const cid = h.uniq('cid');
    const ack = h.waitFor(a, `ack:${cid}`);
    const got = h.waitFor(b, 'new_message', (m) => m.clientMessageId === cid);
    a.emit('send_message', { roomId: room, content: 'no callback', messageId: cid });
    const r = await ack;
    assert.equal(r.success, true, JSON.stringify(r));
    assert.equal(r.savedId, r.message.id);
    h.assertMessage(r.message, { content: 'no callback', clientMessageId: cid, roomId: room });
    assert.deepEqual(await got, r.message);
  });

  test('send_message without callback but with messageId is answered on ack:<messageId> (failures)', async (t) => {
    const { room, a, b } = await pair(t);
    const quiet = h.expectNoEvent(b, 'new_message', 800);
    const cases = [
      [{ roomId: h.uniq('notjoined'), content: 'x' }, 'forbidden'],
      [{ roomId: room, content: '   ' }, 'bad_request'],
      [{ roomId: room, content: 'y'.repeat(4001) }, 'too_large'],
      [{ roomId: room, content: 'x', replyTo: 'nope' }, 'not_found'],
      [{ roomId: room }, 'bad_request'],
    ];
    for (const [payload, code] of cases) {
      const cid = h.uniq('f');
      const ack = h.waitFor(a, `ack:${cid}`);
      a.emit('send_message', { ...payload, messageId: cid });
      h.assertFail(await ack, code, JSON.stringify(payload).slice(0, 80));
    }
    await quiet;
    assert.equal(a.events.filter((e) => e.event === 'error').length, 0, 'ack:<id> failures must not also come as error');
  });

  test('send_message without callback with an invalid messageId is answered on error { code, message, event }', async (t) => {
    const { room, a, b } = await pair(t);
    const quiet = h.expectNoEvent(b, 'new_message', 800);
    for (const messageId of ['z'.repeat(129), 42, { x: 1 }]) {
      const err = h.waitFor(a, 'error', (e) => e && e.event === 'send_message');
      a.emit('send_message', { roomId: room, content: 'bad id', messageId });
      const e = await err;
      assert.deepEqual(Object.keys(e).sort(), ['code', 'event', 'message']);
      assert.equal(e.code, 'bad_request');
      assert.equal(typeof e.message, 'string');
    }
    await quiet;
    assert.equal(a.connected, true);
  });

  test('send_message without callback and without messageId: failures come as error, success gets no reply', async (t) => {
    const { room, a } = await pair(t);
    const err = h.waitFor(a, 'error', (e) => e && e.event === 'send_message');
    a.emit('send_message', { roomId: h.uniq('nj'), content: 'x' });
    const e = await err;
    assert.equal(e.code, 'forbidden');
    const mark = a.events.length;
    const got = h.waitFor(a, 'new_message', (m) => m.content === 'silent ok');
    a.emit('send_message', { roomId: room, content: 'silent ok' });
    await got;
    await h.barrier(a, room);
    assert.deepEqual(h.eventsSince(a, mark).map((x) => x.event), ['new_message'], 'success without callback gets no reply event');
  });

  test('other events without a callback: failures come as error { code, message, event }', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('e'), rooms: ['allowed-*'] });
    const cases = [
      ['fetch_history', { roomId: 'secret' }, 'forbidden'],
      ['fetch_history', { roomId: 'allowed-1', limit: 0 }, 'bad_request'],
      ['typing_start', { roomId: 'allowed-1' }, 'forbidden'],
      ['read_messages', { roomId: 'allowed-1', messageId: 'nope' }, 'not_found'],
      ['join_room', { roomId: 'secret' }, 'forbidden'],
      ['leave_room', { roomId: 'bad room' }, 'bad_request'],
    ];
    for (const [event, payload, code] of cases) {
      const err = h.waitFor(a, 'error', (e) => e && e.event === event);
      a.emit(event, payload);
      const e = await err;
      assert.equal(e.code, code, `${event}: ${JSON.stringify(e)}`);
      assert.equal(typeof e.message, 'string');
    }
  });

  test('other events without a callback get no success reply (join_room and leave_room excepted)', async (t) => {
    const { room, a } = await pair(t);
    const m = await h.send(a, room, 'x');
    const mark = a.events.length;
    a.emit('fetch_history', { roomId: room });
    a.emit('typing_end', { roomId: room });
    a.emit('read_messages', { roomId: room, messageId: m.message.id });
    await h.barrier(a, room);
    const names = h.eventsSince(a, mark).map((e) => e.event).filter((n) => n !== 'messages_read');
    assert.deepEqual(names, []);
  });

  test('unknown event with callback is unknown_event; without callback it is the error event', async (t) => {
    const a = await h.connect(t, server, { sub: h.uniq('u') });
    h.assertFail(await h.emitAck(a, 'no_such_event', { x: 1 }), 'unknown_event');
    h.assertFail(await h.emitAck(a, 'sendMessage'), 'unknown_event');
    const err = h.waitFor(a, 'error', (e) => e && e.event === 'no_such_event_2');
    a.emit('no_such_event_2', {});
    assert.equal((await err).code, 'unknown_event');
    assert.equal(a.connected, true);
  });
});

describe('idempotent retries (messageId)', () => {
  test('the same user re-sending the same messageId gets the original reply; nothing stored or broadcast twice', async (t) => {
    const { room, a, b } = await pair(t);
    const cid = h.uniq('retry');
    const seenB = h.collect(b, 'new_message', (m) => m.clientMessageId === cid);
    const seenA = h.collect(a, 'new_message', (m) => m.clientMessageId === cid);
    const r1 = await h.emitAck(a, 'send_message', { roomId: room, content: 'once', messageId: cid });
    assert.equal(r1.success, true);
    const r2 = await h.emitAck(a, 'send_message', { roomId: room, content: 'once', messageId: cid });
    assert.deepEqual(r2, r1);
    // a retry with different content still returns the original
    const r3 = await h.emitAck(a, 'send_message', { roomId: room, content: 'changed', messageId: cid });
    assert.deepEqual(r3, r1);
    await h.barrier(b, room);
    await h.barrier(a, room);
    assert.equal(seenB.length, 1, 'broadcast twice');
    assert.equal(seenA.length, 1, 'broadcast twice to the sender');
    const hist = await h.emitAck(b, 'fetch_history', { roomId: room });
    assert.equal(hist.messages.filter((m) => m.clientMessageId === cid).length, 1);
  });

  test('a retry from another socket of the same user (reconnect) gets the original reply', async (t) => {
    const room = h.uniq('rc');
    const sub = h.uniq('rc');
    const b = await h.connect(t, server, { sub: h.uniq('b') });
    await h.join(b, room);
    const seen = h.collect(b, 'new_message');
    const a1 = await h.connect(t, server, { sub });
    await h.join(a1, room);
    const cid = h.uniq('cid');
    const r1 = await h.send(a1, room, 'first try', { messageId: cid });
    h.closeSocket(a1);
    const a2 = await h.connect(t, server, { sub, transport: 'polling' });
    await h.join(a2, room);
    const r2 = await h.emitAck(a2, 'send_message', { roomId: room, content: 'first try', messageId: cid });
    assert.deepEqual(r2, r1);
    // the ack:<messageId> path returns it too
    const ack = h.waitFor(a2, `ack:${cid}`);
    a2.emit('send_message', { roomId: room, content: 'first try', messageId: cid });
    assert.deepEqual(await ack, r1);
    await h.barrier(b, room);
    assert.equal(seen.length, 1);
  });

  test('the same messageId from another user, or in another room, is a new message', async (t) => {
    const { room, a, b } = await pair(t);
    const cid = h.uniq('shared');
    const ra = await h.send(a, room, 'from a', { messageId: cid });
    const rb = await h.send(b, room, 'from b', { messageId: cid });
    assert.notEqual(rb.message.id, ra.message.id);
    assert.equal(rb.message.content, 'from b');
    const other = h.uniq('other');
    await h.join(a, other);
    const ro = await h.send(a, other, 'other room', { messageId: cid });
    assert.equal(ro.message.roomId, other);
    assert.equal(ro.message.content, 'other room');
    const ho = await h.emitAck(a, 'fetch_history', { roomId: other });
    assert.deepEqual(ho.messages, [ro.message]);
    const hr = await h.emitAck(a, 'fetch_history', { roomId: room });
    assert.deepEqual(hr.messages.map((m) => m.content), ['from a', 'from b']);
  });
});

describe('retries racing each other', () => {
  test('the same messageId sent at the same moment from two devices of a user: one message, identical replies', async (t) => {
    const room = h.uniq('race');
    const sub = h.uniq('r');
    const b = await h.connect(t, server, { sub: h.uniq('b') });
    await h.join(b, room);
    const devices = [];
    for (const transport of ['websocket', 'websocket', 'polling']) {
      const d = await h.connect(t, server, { sub, transport });
      await h.join(d, room);
      devices.push(d);
    }
    for (let round = 0; round < 5; round++) {
      const cid = h.uniq('cid');
      const seen = h.collect(b, 'new_message', (m) => m.clientMessageId === cid);
      const replies = await Promise.all(devices.flatMap((d) => [
        h.emitAck(d, 'send_message', { roomId: room, content: `race ${round}`, messageId: cid }),
        h.emitAck(d, 'send_message', { roomId: room, content: `race ${round}`, messageId: cid }),
      ]));
      replies.forEach((r) => assert.equal(r.success, true, JSON.stringify(r)));
      for (const r of replies) assert.deepEqual(r, replies[0]);
      await h.barrier(b, room);
      assert.equal(seen.length, 1, `round ${round}: broadcast ${seen.length} times`);
      const hist = await h.emitAck(b, 'fetch_history', { roomId: room });
      assert.equal(hist.messages.filter((m) => m.clientMessageId === cid).length, 1, `round ${round}: stored twice`);
    }
  });
});

describe('rate limit', () => {
  test('limits.messages_per_second / message_burst: excess is rate_limited, per user across sockets, other users unaffected', async (t) => {
    const s = await h.startServer({ args: ['--limits.messages_per_second', '0.2', '--limits.message_burst', '3'] });
    t.after(() => s.stop());
    const room = h.uniq('rl');
    const sub = h.uniq('spam');
    const d1 = await h.connect(t, s, { sub });
    const d2 = await h.connect(t, s, { sub });
    const other = await h.connect(t, s, { sub: h.uniq('calm') });
    for (const x of [d1, d2, other]) await h.join(x, room);
    const seen = h.collect(other, 'new_message', (m) => m.content.startsWith('burst'));
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await h.emitAck(d1, 'send_message', { roomId: room, content: `burst${i}` }));
    replies.forEach((r) => assert.equal(r.success, true, JSON.stringify(r)));
    h.assertFail(await h.emitAck(d1, 'send_message', { roomId: room, content: 'burst-over' }), 'rate_limited', 'same socket');
    h.assertFail(await h.emitAck(d2, 'send_message', { roomId: room, content: 'burst-other-device' }), 'rate_limited', 'same user, other device');
    const cid = h.uniq('rlc');
    const ack = h.waitFor(d1, `ack:${cid}`);
    d1.emit('send_message', { roomId: room, content: 'burst-ack', messageId: cid });
    h.assertFail(await ack, 'rate_limited', 'ack:<messageId>');
    assert.equal((await h.emitAck(other, 'send_message', { roomId: room, content: 'calm' })).success, true);
    await h.barrier(other, room);
    assert.deepEqual(seen.map((m) => m.content), ['burst0', 'burst1', 'burst2']);
    assert.equal(d1.connected, true);
  });

  test('a retry (same messageId) gets its original reply even while the user is rate-limited', async (t) => {
    const s = await h.startServer({ args: ['--limits.messages_per_second', '0.1', '--limits.message_burst', '1'] });
    t.after(() => s.stop());
    const room = h.uniq('rlx');
    const a = await h.connect(t, s, { sub: h.uniq('retry') });
    const watcher = await h.connect(t, s, { sub: h.uniq('watch') });
    for (const x of [a, watcher]) await h.join(x, room);
    const seen = h.collect(watcher, 'new_message', (m) => m.roomId === room);
    const messageId = h.uniq('cid');
    const first = await h.emitAck(a, 'send_message', { roomId: room, content: 'once', messageId });
    assert.equal(first.success, true, JSON.stringify(first));
    const retry = await h.emitAck(a, 'send_message', { roomId: room, content: 'once', messageId });
    assert.deepEqual(retry, first, 'the retry, sent with the burst spent, gets the original reply');
    h.assertFail(await h.emitAck(a, 'send_message', { roomId: room, content: 'new', messageId: h.uniq('cid') }), 'rate_limited', 'a new message is still limited');
    await h.barrier(watcher, room);
    assert.deepEqual(seen.map((m) => m.id), [first.message.id], 'stored and broadcast once');
  });

  test('the rate limit outlives the user\'s last socket: reconnecting does not bring a fresh burst', async (t) => {
    const s = await h.startServer({ args: ['--limits.messages_per_second', '0.2', '--limits.message_burst', '3'] });
    t.after(() => s.stop());
    const room = h.uniq('rlr');
    const sub = h.uniq('spam');
    const first = await h.connect(t, s, { sub });
    const watcher = await h.connect(t, s, { sub: h.uniq('watch') });
    for (const x of [first, watcher]) await h.join(x, room);
    for (let i = 0; i < 3; i++) {
      assert.equal((await h.emitAck(first, 'send_message', { roomId: room, content: `b${i}` })).success, true);
    }
    const gone = h.waitFor(watcher, 'user_left', (e) => e.userId === sub); // the server closed the session
    first.close();
    await gone;
    const again = await h.connect(t, s, { sub });
    await h.join(again, room);
    h.assertFail(await h.emitAck(again, 'send_message', { roomId: room, content: 'after-reconnect' }), 'rate_limited', 'new socket of the same user');
    const page = await h.emitAck(again, 'fetch_history', { roomId: room });
    assert.deepEqual(page.messages.map((m) => m.content), ['b0', 'b1', 'b2']);
  });
});

describe('fetch_history', () => {
  test('paging: newest page first, before = strictly older, oldest first within a page, hasMore', async (t) => {
    const { room, a, b } = await pair(t);
    const ids = [];
    for (let i = 1; i <= 7; i++) ids.push((await h.send(a, room, `p${i}`)).message.id);
    const p1 = await h.emitAck(b, 'fetch_history', { roomId: room, limit: 3 });
    assert.deepEqual(Object.keys(p1).sort(), ['hasMore', 'messages', 'roomId', 'success']);
    assert.equal(p1.roomId, room);
    assert.deepEqual(p1.messages.map((m) => m.content), ['p5', 'p6', 'p7']);
    assert.equal(p1.hasMore, true);
    const p2 = await h.emitAck(b, 'fetch_history', { roomId: room, limit: 3, before: p1.messages[0].id });
    assert.deepEqual(p2.messages.map((m) => m.content), ['p2', 'p3', 'p4']);
    assert.equal(p2.hasMore, true);
    const p3 = await h.emitAck(b, 'fetch_history', { roomId: room, limit: 3, before: p2.messages[0].id });
    assert.deepEqual(p3.messages.map((m) => m.content), ['p1']);
    assert.equal(p3.hasMore, false);
    const exact = await h.emitAck(b, 'fetch_history', { roomId: room, limit: 7 });
    assert.equal(exact.messages.length, 7);
    assert.equal(exact.hasMore, false);
    const all = await h.emitAck(b, 'fetch_history', room);
    assert.deepEqual(all.messages.map((m) => m.id), ids);
    assert.equal(all.hasMore, false);
    all.messages.forEach((m) => h.assertMessage(m, { roomId: room }));
    const nulls = await h.emitAck(b, 'fetch_history', { roomId: room, before: null, limit: null });
    assert.deepEqual(nulls.messages.map((m) => m.id), ids);
  });

  test('default limit 50, limit 1..200', async (t) => {
    const { room, a } = await pair(t);
    const ids = [];
    for (let i = 0; i < 60; i++) ids.push((await h.send(a, room, `l${i}`)).message.id);
    const def = await h.emitAck(a, 'fetch_history', { roomId: room });
    assert.deepEqual(def.messages.map((m) => m.id), ids.slice(10));
    assert.equal(def.hasMore, true);
    const one = await h.emitAck(a, 'fetch_history', { roomId: room, limit: 1 });
    assert.deepEqual(one.messages.map((m) => m.id), [ids[59]]);
    const max = await h.emitAck(a, 'fetch_history', { roomId: room, limit: 200 });
    assert.equal(max.messages.length, 60);
    for (const limit of [0, 201, -5, 2.5, '10', true]) {
      h.assertFail(await h.emitAck(a, 'fetch_history', { roomId: room, limit }), 'bad_request', `limit ${JSON.stringify(limit)}`);
    }
  });

  test('needs permission to join the room, not a joined socket', async (t) => {
    const { room, a } = await pair(t);
    await h.send(a, room, 'visible');
    const reader = await h.connect(t, server, { sub: h.uniq('r') });
    const r = await h.emitAck(reader, 'fetch_history', { roomId: room });
    assert.equal(r.success, true, JSON.stringify(r));
    assert.deepEqual(r.messages.map((m) => m.content), ['visible']);
    const limited = await h.connect(t, server, { sub: h.uniq('l'), rooms: ['only-this'] });
    h.assertFail(await h.emitAck(limited, 'fetch_history', { roomId: room }), 'forbidden');
  });
});

describe('ordering', () => {
  for (const transport of ['websocket', 'polling']) {
    test(`500 rapid send_message from one client are stored and delivered in send order (${transport})`, async (t) => {
      const room = h.uniq('rapid');
      const a = await h.connect(t, server, { sub: h.uniq('a'), transport });
      const b = await h.connect(t, server, { sub: h.uniq('b'), transport });
      await h.join(a, room);
      await h.join(b, room);
      const N = 500;
      const atB = h.collect(b, 'new_message');
      const atA = h.collect(a, 'new_message');
      const doneB = h.waitFor(b, 'new_message', (m) => m.content === `n${N - 1}`, 60000);
      const acks = [];
      for (let i = 0; i < N; i++) acks.push(h.emitAck(a, 'send_message', { roomId: room, content: `n${i}` }, h.timeout(60000)));
      const replies = await Promise.all(acks);
      replies.forEach((r, i) => assert.equal(r.success, true, `#${i}: ${JSON.stringify(r)}`));
      await doneB;
      await h.barrier(a, room);
      const want = Array.from({ length: N }, (_, i) => `n${i}`);
      assert.deepEqual(atB.map((m) => m.content), want, 'delivery order at the receiver');
      assert.deepEqual(atA.map((m) => m.content), want, 'delivery order at the sender');
      const ids = replies.map((r) => r.message.id);
      for (let i = 1; i < N; i++) assert.ok(h.byteCmp(ids[i - 1], ids[i]) < 0, `id order broken at ${i}`);
      const stored = [];
      let before;
      for (;;) {
        const page = await h.emitAck(b, 'fetch_history', before ? { roomId: room, limit: 200, before } : { roomId: room, limit: 200 });
        stored.unshift(...page.messages);
        if (!page.hasMore) break;
        before = page.messages[0].id;
      }
      assert.deepEqual(stored.map((m) => m.content), want, 'stored order');
    });

    // send_message is pipelined (the store writes a socket's consecutive messages in one
    // commit); every other event waits for the answers of the socket's earlier events.
    test(`a burst of send_message, leave_room, send_message is answered in emit order, each event seeing the ones before (${transport})`, async (t) => {
      const { room, a, b } = await pair(t, { transport });
      const N = 20;
      const order = [];
      const tagged = (tag, p) => p.then((r) => { order.push(tag); return r; });
      const sends = Array.from({ length: N }, (_, i) => tagged(`send ${i}`, h.emitAck(a, 'send_message', { roomId: room, content: `b${i}` })));
      const left = tagged('leave', h.emitAck(a, 'leave_room', { roomId: room }));
      const after = tagged('after', h.emitAck(a, 'send_message', { roomId: room, content: 'after leaving' }));
      const gone = h.waitFor(b, 'user_left', (e) => e.roomId === room);
      (await Promise.all(sends)).forEach((r, i) => assert.equal(r.success, true, `#${i}: ${JSON.stringify(r)}`));
      assert.equal((await left).success, true);
      h.assertFail(await after, 'forbidden');
      assert.deepEqual(order, [...Array.from({ length: N }, (_, i) => `send ${i}`), 'leave', 'after']);
      await gone;
      const atB = b.events.filter((e) => e.event === 'user_left' || (e.event === 'new_message' && e.args[0].roomId === room))
        .map((e) => (e.event === 'user_left' ? 'user_left' : e.args[0].content));
      assert.deepEqual(atB, [...Array.from({ length: N }, (_, i) => `b${i}`), 'user_left'], 'what the other member saw');
    });

    test(`the same messageId twice in one burst stores and delivers one message (${transport})`, async (t) => {
      const { room, a, b } = await pair(t, { transport });
      const atB = h.collect(b, 'new_message', (m) => m.roomId === room);
      const payload = { roomId: room, content: 'once', messageId: h.uniq('mid') };
      const [first, second] = await Promise.all([h.emitAck(a, 'send_message', payload), h.emitAck(a, 'send_message', payload)]);
      assert.equal(first.success, true, JSON.stringify(first));
      assert.deepEqual(second, first);
      await h.barrier(b, room);
      assert.deepEqual(atB, [first.message]);
    });

    test(`messages emitted right before disconnecting are stored and reach the room before user_left (${transport})`, async (t) => {
      const { room, a, b } = await pair(t, { transport });
      const N = 20;
      const gone = h.waitFor(b, 'user_left', (e) => e.roomId === room);
      for (let i = 0; i < N; i++) a.emit('send_message', { roomId: room, content: `w${i}` });
      a.disconnect();
      await gone;
      const want = Array.from({ length: N }, (_, i) => `w${i}`);
      const atB = b.events.filter((e) => e.event === 'user_left' || (e.event === 'new_message' && e.args[0].roomId === room))
        .map((e) => (e.event === 'user_left' ? 'user_left' : e.args[0].content));
      assert.deepEqual(atB, [...want, 'user_left'], 'what the other member saw');
      const page = await h.emitAck(b, 'fetch_history', { roomId: room, limit: 50 });
      assert.deepEqual(page.messages.map((m) => m.content), want, 'stored');
    });
  }
});
