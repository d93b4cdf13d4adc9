'use strict';
// PROTOCOL.md "Read receipts" and the "Read cursors" fine print.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let server;
before(async () => {
  server = await h.startServer({ args: ['--limits.messages_per_second', '1000', '--limits.message_burst', '1000'] });
});
after(async () => { if (server) await server.stop(); });

/** Room with 5 messages from writer w; reader r (two devices r1, r2) joined. */
async function setup(t) {
  const room = h.uniq('rd');
  const w = await h.connect(t, server, { sub: h.uniq('w'), name: 'Writer' });
  await h.join(w, room);
  const ids = [];
  for (let i = 1; i <= 5; i++) ids.push((await h.send(w, room, `m${i}`)).message.id);
  const rsub = h.uniq('r');
  const r1 = await h.connect(t, server, { sub: rsub, name: 'Reader' });
  const r2 = await h.connect(t, server, { sub: rsub, name: 'Reader', transport: 'polling' });
  const j1 = await h.join(r1, room);
  await h.join(r2, room);
  return { room, w, r1, r2, rsub, ids, j1 };
}

test('before the first read: lastReadMessageId null, unreadCount = all messages', async (t) => {
  const { j1 } = await setup(t);
  assert.equal(j1.lastReadMessageId, null);
  assert.equal(j1.unreadCount, 5);
});

test('read_messages moves the cursor (inclusive): reply { success, roomId, messageId, unreadCount }', async (t) => {
  const { room, r1, ids } = await setup(t);
  const r = await h.emitAck(r1, 'read_messages', { roomId: room, messageId: ids[2] });
  assert.deepEqual(r, { success: true, roomId: room, messageId: ids[2], unreadCount: 2 });
  const last = await h.emitAck(r1, 'read_messages', { roomId: room, messageId: ids[4] });
  assert.deepEqual(last, { success: true, roomId: room, messageId: ids[4], unreadCount: 0 });
});

test('messages_read { roomId, userId, userName, messageId, readAt } reaches every socket in the room, the reader\'s own included', async (t) => {
  const { room, w, r1, r2, rsub, ids } = await setup(t);
  const outsider = await h.connect(t, server, { sub: h.uniq('o') });
  await h.join(outsider, h.uniq('elsewhere'));
  const waits = [w, r1, r2].map((s) => h.waitFor(s, 'messages_read', (e) => e.roomId === room));
  const quiet = h.expectNoEvent(outsider, 'messages_read', 600);
  const before = Date.now();
  await h.emitAck(r1, 'read_messages', { roomId: room, messageId: ids[1] });
  for (const wt of waits) {
    const e = await wt;
    assert.deepEqual(Object.keys(e).sort(), ['messageId', 'readAt', 'roomId', 'userId', 'userName']);
    assert.equal(e.userId, rsub);
    assert.equal(e.userName, 'Reader');
    assert.equal(e.messageId, ids[1]);
    assert.equal(typeof e.readAt, 'string');
    const at = Date.parse(e.readAt);
    assert.ok(at >= before - 2000 && at <= Date.now() + 2000, `readAt ${e.readAt}`);
  }
  await quiet;
});

test('cursors only move forward: an older id is accepted, changes nothing and announces nothing', async (t) => {
  const { room, w, r1, ids } = await setup(t);
  const moved = h.waitFor(w, 'messages_read', (e) => e.roomId === room);
  await h.emitAck(r1, 'read_messages', { roomId: room, messageId: ids[3] });
  await moved;
  const quiet = h.expectNoEvent(w, 'messages_read', 700);
  const quietSelf = h.expectNoEvent(r1, 'messages_read', 700, (e) => e.messageId !== ids[3]);
  const older = await h.emitAck(r1, 'read_messages', { roomId: room, messageId: ids[1] });
  assert.deepEqual(older, { success: true, roomId: room, messageId: ids[3], unreadCount: 1 });
  const same = await h.emitAck(r1, 'read_messages', { roomId: room, messageId: ids[3] });
  assert.deepEqual(same, { success: true, roomId: room, messageId: ids[3], unreadCount: 1 });
  await quiet;
  await quietSelf;
});

test('an id that is not in the room is not_found', async (t) => {
  const { room, w, r1, ids } = await setup(t);
  const other = h.uniq('other');
  await h.join(w, other);
  // the other room's first message holds the same position as this room's first one
  const foreign = await h.send(w, other, 'foreign');
  assert.ok(!ids.includes(foreign.message.id), 'a message id names one room only');
  h.assertFail(await h.emitAck(r1, 'read_messages', { roomId: room, messageId: foreign.message.id }), 'not_found', 'id of another room');
  h.assertFail(await h.emitAck(w, 'send_message', { roomId: room, content: 're', replyTo: foreign.message.id }), 'not_found', 'replyTo of another room');
  h.assertFail(await h.emitAck(r1, 'read_messages', { roomId: room, messageId: 'no-such-id' }), 'not_found', 'unknown id');
  // the cursor did not move
  const j = await h.join(r1, room);
  assert.equal(j.lastReadMessageId, null);
  assert.equal(j.unreadCount, ids.length);
});

test('the cursor is per user: all devices share it', async (t) => {
  const { room, r1, r2, rsub, ids } = await setup(t);
  await h.emitAck(r1, 'read_messages', { roomId: room, messageId: ids[3] });
  // the second device sees the cursor in its reply and cannot move it back
  const back = await h.emitAck(r2, 'read_messages', { roomId: room, messageId: ids[0] });
  assert.deepEqual(back, { success: true, roomId: room, messageId: ids[3], unreadCount: 1 });
  // a third device joining later gets the shared cursor
  const r3 = await h.connect(t, server, { sub: rsub, client: 'v2' });
  const j = await h.join(r3, room);
  assert.equal(j.lastReadMessageId, ids[3]);
  assert.equal(j.unreadCount, 1);
});

test('read_messages needs permission to join the room, not a joined socket', async (t) => {
  const { room, ids, rsub } = await setup(t);
  const notJoined = await h.connect(t, server, { sub: rsub });
  const r = await h.emitAck(notJoined, 'read_messages', { roomId: room, messageId: ids[4] });
  assert.deepEqual(r, { success: true, roomId: room, messageId: ids[4], unreadCount: 0 });
  const stranger = await h.connect(t, server, { sub: h.uniq('s'), rooms: ['not-this-one'] });
  h.assertFail(await h.emitAck(stranger, 'read_messages', { roomId: room, messageId: ids[4] }), 'forbidden');
});

test('sending a message moves the sender\'s cursor to it silently; unreadCount never counts what the user wrote', async (t) => {
  const { room, w, r1, rsub, ids } = await setup(t);
  const quiet = [w, r1].map((s) => h.expectNoEvent(s, 'messages_read', 700));
  const mine = await h.send(r1, room, 'my own');
  await Promise.all(quiet);
  const dev = await h.connect(t, server, { sub: rsub });
  const j = await h.join(dev, room);
  assert.equal(j.lastReadMessageId, mine.message.id);
  assert.equal(j.unreadCount, 0);
  // then someone else writes: one unread
  await h.send(w, room, 'reply');
  const j2 = await h.join(await h.connect(t, server, { sub: rsub }), room);
  assert.equal(j2.lastReadMessageId, mine.message.id);
  assert.equal(j2.unreadCount, 1);
  // reading an older id after sending does not move back
  const older = await h.emitAck(dev, 'read_messages', { roomId: room, messageId: ids[0] });
  assert.equal(older.messageId, mine.message.id);
  assert.equal(older.unreadCount, 1);
});

test('unreadCount in join_room follows the cursor (messages after it)', async (t) => {
  const { room, w, r1, rsub, ids } = await setup(t);
  await h.emitAck(r1, 'read_messages', { roomId: room, messageId: ids[1] });
  await h.send(w, room, 'm6');
  const dev = await h.connect(t, server, { sub: rsub });
  const j = await h.join(dev, room);
  assert.equal(j.lastReadMessageId, ids[1]);
  assert.equal(j.unreadCount, 4);
});
