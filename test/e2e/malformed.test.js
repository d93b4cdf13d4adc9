'use strict';
// PROTOCOL.md "Replies" (bad input), "Lengths", "Numbers", "user: rooms": a table of malformed
// payloads. Each one is answered with success:false and the right code; the socket stays
// connected; a bystander in the room receives nothing.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let server;
before(async () => {
  server = await h.startServer({ args: ['--limits.messages_per_second', '1000', '--limits.message_burst', '1000'] });
});
after(async () => { if (server) await server.stop(); });

const R = '__ROOM__'; // replaced by the test room
const bin = (s) => Buffer.from(s);

// [name, event, args (payload list; R is replaced by the room), expected code]
const CASES = [
  // send_message
  ['send_message: no payload', 'send_message', [], 'bad_request'],
  ['send_message: null payload', 'send_message', [null], 'bad_request'],
  ['send_message: bare string payload', 'send_message', [R], 'bad_request'],
  ['send_message: number payload', 'send_message', [42], 'bad_request'],
  ['send_message: array instead of object', 'send_message', [[R, 'hi']], 'bad_request'],
  ['send_message: boolean payload', 'send_message', [true], 'bad_request'],
  ['send_message: empty object', 'send_message', [{}], 'bad_request'],
  ['send_message: missing content', 'send_message', [{ roomId: R }], 'bad_request'],
  ['send_message: missing roomId', 'send_message', [{ content: 'hi' }], 'bad_request'],
  ['send_message: roomId null', 'send_message', [{ roomId: null, content: 'hi' }], 'bad_request'],
  ['send_message: number as roomId', 'send_message', [{ roomId: 123, content: 'hi' }], 'bad_request'],
  ['send_message: object as roomId', 'send_message', [{ roomId: { id: R }, content: 'hi' }], 'bad_request'],
  ['send_message: array as roomId', 'send_message', [{ roomId: [R], content: 'hi' }], 'bad_request'],
  ['send_message: binary roomId', 'send_message', [{ roomId: '__BINROOM__', content: 'hi' }], 'bad_request'],
  ['send_message: content null', 'send_message', [{ roomId: R, content: null }], 'bad_request'],
  ['send_message: number as content', 'send_message', [{ roomId: R, content: 123 }], 'bad_request'],
  ['send_message: boolean content', 'send_message', [{ roomId: R, content: false }], 'bad_request'],
  ['send_message: object content', 'send_message', [{ roomId: R, content: { text: 'hi' } }], 'bad_request'],
  ['send_message: array content', 'send_message', [{ roomId: R, content: ['hi'] }], 'bad_request'],
  ['send_message: binary where text is expected', 'send_message', [{ roomId: R, content: bin('hello') }], 'bad_request'],
  ['send_message: empty content', 'send_message', [{ roomId: R, content: '' }], 'bad_request'],
  ['send_message: blank content (spaces, tabs, newlines)', 'send_message', [{ roomId: R, content: ' \t\n\r ' }], 'bad_request'],
  ['send_message: blank content (Unicode white space)', 'send_message', [{ roomId: R, content: '\u00a0\u2003\u3000\u205f' }], 'bad_request'],
  ['send_message: content over max length', 'send_message', [{ roomId: R, content: 'x'.repeat(4001) }], 'too_large'],
  ['send_message: content over max length in code points', 'send_message', [{ roomId: R, content: '𝄞'.repeat(4001) }], 'too_large'],
  ['send_message: roomId with bad characters', 'send_message', [{ roomId: 'bad room!', content: 'hi' }], 'bad_request'],
  ['send_message: roomId of 129 characters', 'send_message', [{ roomId: 'a'.repeat(129), content: 'hi' }], 'bad_request'],
  ['send_message: empty roomId', 'send_message', [{ roomId: '', content: 'hi' }], 'bad_request'],
  ['send_message: roomId starting with a dash', 'send_message', [{ roomId: '-abc', content: 'hi' }], 'bad_request'],
  ['send_message: alias room with a number', 'send_message', [{ room: 7, message: 'hi' }], 'bad_request'],
  ['send_message: alias message with a number', 'send_message', [{ room: R, message: 7 }], 'bad_request'],
  ['send_message: messageId of 129 characters', 'send_message', [{ roomId: R, content: 'hi', messageId: 'm'.repeat(129) }], 'bad_request'],
  ['send_message: number as messageId', 'send_message', [{ roomId: R, content: 'hi', messageId: 42 }], 'bad_request'],
  ['send_message: object as messageId', 'send_message', [{ roomId: R, content: 'hi', messageId: { a: 1 } }], 'bad_request'],
  ['send_message: number as replyTo', 'send_message', [{ roomId: R, content: 'hi', replyTo: 42 }], 'bad_request'],
  ['send_message: object as replyTo', 'send_message', [{ roomId: R, content: 'hi', replyTo: {} }], 'bad_request'],
  ['send_message: replyTo not a message of the room', 'send_message', [{ roomId: R, content: 'hi', replyTo: 'no-such-message' }], 'not_found'],
  ['send_message: personal room', 'send_message', [{ roomId: 'user:someone', content: 'hi' }], 'forbidden'],
  ['send_message: room not joined', 'send_message', [{ roomId: 'not-joined-room', content: 'hi' }], 'forbidden'],
  // join_room
  ['join_room: no payload', 'join_room', [], 'bad_request'],
  ['join_room: null payload', 'join_room', [null], 'bad_request'],
  ['join_room: number as roomId', 'join_room', [123], 'bad_request'],
  ['join_room: empty object', 'join_room', [{}], 'bad_request'],
  ['join_room: array instead of object', 'join_room', [[R]], 'bad_request'],
  ['join_room: binary roomId', 'join_room', ['__BINROOM__'], 'bad_request'],
  ['join_room: historyLimit 201', 'join_room', [{ roomId: R, historyLimit: 201 }], 'bad_request'],
  ['join_room: historyLimit -1', 'join_room', [{ roomId: R, historyLimit: -1 }], 'bad_request'],
  ['join_room: historyLimit 1.5', 'join_room', [{ roomId: R, historyLimit: 1.5 }], 'bad_request'],
  ['join_room: historyLimit "5"', 'join_room', [{ roomId: R, historyLimit: '5' }], 'bad_request'],
  ['join_room: roomId of 129 characters', 'join_room', ['r'.repeat(129)], 'bad_request'],
  ['join_room: roomId with a space', 'join_room', ['has space'], 'bad_request'],
  ['join_room: roomId with a slash', 'join_room', [{ roomId: 'a/b' }], 'bad_request'],
  ['join_room: personal room', 'join_room', ['user:someone'], 'forbidden'],
  // leave_room
  ['leave_room: number as roomId', 'leave_room', [{ roomId: 5 }], 'bad_request'],
  ['leave_room: null payload', 'leave_room', [null], 'bad_request'],
  ['leave_room: personal room', 'leave_room', ['user:someone'], 'forbidden'],
  // fetch_history
  ['fetch_history: null payload', 'fetch_history', [null], 'bad_request'],
  ['fetch_history: limit 0', 'fetch_history', [{ roomId: R, limit: 0 }], 'bad_request'],
  ['fetch_history: limit 201', 'fetch_history', [{ roomId: R, limit: 201 }], 'bad_request'],
  ['fetch_history: limit 2.5', 'fetch_history', [{ roomId: R, limit: 2.5 }], 'bad_request'],
  ['fetch_history: limit "10"', 'fetch_history', [{ roomId: R, limit: '10' }], 'bad_request'],
  ['fetch_history: number as before', 'fetch_history', [{ roomId: R, before: 5 }], 'bad_request'],
  ['fetch_history: roomId with bad characters', 'fetch_history', [{ roomId: 'a*b' }], 'bad_request'],
  // read_messages
  ['read_messages: missing messageId', 'read_messages', [{ roomId: R }], 'bad_request'],
  ['read_messages: number as messageId', 'read_messages', [{ roomId: R, messageId: 7 }], 'bad_request'],
  ['read_messages: bare string (no messageId)', 'read_messages', [R], 'bad_request'],
  ['read_messages: array payload', 'read_messages', [[R, 'x']], 'bad_request'],
  ['read_messages: unknown messageId', 'read_messages', [{ roomId: R, messageId: 'nope' }], 'not_found'],
  // typing
  ['typing_start: number payload', 'typing_start', [42], 'bad_request'],
  ['typing_start: roomId null', 'typing_start', [{ roomId: null }], 'bad_request'],
  ['typing_end: array payload', 'typing_end', [[R]], 'bad_request'],
  ['typing: binary roomId', 'typing', [{ roomId: '__BINROOM__' }], 'bad_request'],
  // unknown
  ['unknown event', 'definitely_not_an_event', [{ roomId: R }], 'unknown_event'],
];

function materialize(args, room) {
  const fix = (v) => {
    if (v === R) return room;
    if (v === '__BINROOM__') return Buffer.from(room);
    if (Array.isArray(v)) return v.map(fix);
    if (v && typeof v === 'object' && !Buffer.isBuffer(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fix(x)]));
    return v;
  };
  return args.map(fix);
}

assert.ok(CASES.length >= 30);

for (const [client, transport] of [['v4', 'websocket'], ['v4', 'polling'], ['v2', 'websocket']]) {
  describe(`malformed payloads (socket.io-client ${client}, ${transport})`, () => {
    let room; let sender; let bystander; let ctx;
    before(async () => {
      room = h.uniq('mal');
      sender = await h.connect(null, server, { sub: h.uniq('sender'), transport, client });
      bystander = await h.connect(null, server, { sub: h.uniq('by'), transport: 'websocket' });
      await h.join(sender, room);
      await h.join(bystander, room);
      // let presence settle so the bystander log starts quiet
      await h.barrier(bystander, room);
      ctx = { mark: bystander.events.length };
    });
    after(() => { h.closeSocket(sender); h.closeSocket(bystander); });

    for (const [name, event, args, code] of CASES) {
      test(`${name} -> ${code}`, async () => {
        // room_users from the initial joins may still be trailing; only chat traffic counts
        const mark = bystander.events.length;
        const reply = await h.emitAck(sender, event, ...materialize(args, room));
        h.assertFail(reply, code, name);
        assert.equal(sender.connected, true, 'socket disconnected');
        await h.barrier(bystander, room);
        const leaked = h.eventsSince(bystander, mark).filter((e) => e.event !== 'room_users');
        assert.deepEqual(leaked, [], 'the bystander received something');
        assert.deepEqual(sender.events.filter((e) => e.event === 'error'), [], 'failure with a callback must not also come as error');
      });
    }

    test('after the whole table both sockets still chat (positive control for the bystander check)', async () => {
      assert.equal(sender.connected, true);
      const got = h.waitFor(bystander, 'new_message', (m) => m.content === 'still here');
      const r = await h.send(sender, room, 'still here');
      assert.deepEqual(await got, r.message);
      const hist = await h.emitAck(bystander, 'fetch_history', { roomId: room, limit: 200 });
      assert.deepEqual(hist.messages.map((m) => m.content), ['still here'], 'a malformed payload was stored');
      const joins = h.eventsSince(bystander, ctx.mark).filter((e) => e.event === 'user_joined' || e.event === 'user_typing');
      assert.deepEqual(joins, []);
    });
  });
}
