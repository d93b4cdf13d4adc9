'use strict';
// PROTOCOL.md "Replies" (bad input never crashes the server) and "Lengths" (a packet over
// socketio.max_http_buffer_size closes that connection only): raw Engine.IO / Socket.IO frames
// over a bare websocket, then a check that the server still serves everyone.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const h = require('./lib/harness');

let server;
before(async () => { server = await h.startServer(); });
after(async () => { if (server) await server.stop(); });

/** A bare websocket speaking Engine.IO by hand. */
async function raw(srv, { eio = 4, query = '' } = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=${eio}&transport=websocket${query}`);
  const frames = [];
  const waiters = [];
  let closed = false;
  const closedP = new Promise((resolve) => ws.on('close', (code) => { closed = true; resolve(code); for (const w of waiters.splice(0)) w.resolve(null); }));
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const s = data.toString();
    if (s === '2') { ws.send('3'); return; } // EIO4 server ping
    const w = waiters.find((x) => x.pred(s));
    if (w) { waiters.splice(waiters.indexOf(w), 1); w.resolve(s); } else frames.push(s);
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const r = {
    ws, frames, closedP,
    get closed() { return closed; },
    send(f) { if (ws.readyState === WebSocket.OPEN) ws.send(f); },
    /** resolves with the first frame (already received or future) matching pred, null on close/timeout */
    next(pred, ms = 3000) {
      const i = frames.findIndex(pred);
      if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
      if (closed) return Promise.resolve(null);
      return new Promise((resolve) => {
        const w = { pred, resolve: (v) => { clearTimeout(timer); resolve(v); } };
        const timer = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); resolve(null); }, ms);
        waiters.push(w);
      });
    },
    close() { try { ws.terminate(); } catch { /* gone */ } },
  };
  const open = await r.next((f) => f.startsWith('0'));
  assert.ok(open, 'no Engine.IO open packet');
  return r;
}

/** Raw EIO4 client connected to / (and /chat) with a token and joined to room. */
async function rawJoined(srv, room, { chat = false } = {}) {
  const r = await raw(srv);
  const tok = h.token(h.uniq('raw'));
  r.send(`40${JSON.stringify({ token: tok })}`);
  assert.ok((await r.next((f) => f.startsWith('40{'))), 'CONNECT to / refused');
  if (chat) {
    r.send(`40/chat,${JSON.stringify({ token: tok })}`);
    assert.ok((await r.next((f) => f.startsWith('40/chat,{'))), 'CONNECT to /chat refused');
  }
  r.send(`4277${JSON.stringify(['join_room', room])}`);
  const ack = await r.next((f) => f.startsWith('4377'));
  if (!ack) {
    const code = r.closed ? await r.closedP : null;
    assert.fail(`raw join_room after a successful CONNECT got no reply: ${r.closed ? `the server closed the websocket (code ${code})` : 'timeout'}; frames ${JSON.stringify(r.frames)}`);
  }
  assert.ok(JSON.parse(ack.slice(4))[0].success, `raw join failed: ${ack}`);
  return r;
}

const FRAMES = [
  '42', '42[]', '42/chat,', '43/chat,9[]', '42[1,2]', '42[null]', '42[{}]', '42{"a":1}', '42"str"',
  '42["send_message"', '42["send_message",', '42[[["deep"]]]', '4', '49', '4x', '4garbage', 'garbage', '',
  '43', '43[]', '439999[]', '4399999999999999999999999[]', '4299999999999999999999999["join_room","x"]',
  '421-["send_message",{"_placeholder":true,"num":0}]', '451-["send_message",{"_placeholder":true,"num":5}]',
  '452-["send_message",{"_placeholder":true,"num":0}]', '42/nope,["join_room","x"]', '41/chat,', '40/chat,',
  '40/chat,"notanobject"', '40/chat,{"token":5}', '44', '44{}', '46', '5', '6', '1', '7', '2probe', '42/chat',
  '42["join_room",{"roomId":{"$gt":""}}]', '42["send_message",{"roomId":"__ROOM__","content":{"toString":1}}]',
'42["__proto__",{}]', '42["constructor"]',
  '42["send_message",{"roomId":"__ROOM__","content":"' + 'x'.repeat(5000) + '"}]',
];

test('raw frames over a bare EIO4 websocket (42, 42[], 42/chat,, 43/chat,9[], 42[1,2], garbage, ...) do not hurt anyone else', async (t) => {
  const room = h.uniq('rawroom');
  const by = await h.connect(t, server, { sub: h.uniq('by') });
  await h.join(by, room);
  const outcomes = [];
  for (const f of FRAMES) {
    const frame = f.replace('__ROOM__', room);
    const r = await rawJoined(server, room, { chat: true }).catch((e) => {
      throw new Error(`setting up the raw connection for ${JSON.stringify(frame.slice(0, 40))} (after ${outcomes.length} frames): ${e.message}`);
    });
    try {
      r.send(frame);
      // probe: an event with an ack on "/" tells whether the connection is still served
      r.send('421["no_such_event",{}]');
      const reply = await r.next((x) => x.startsWith('431'), 3000);
      outcomes.push(`${JSON.stringify(frame.slice(0, 40))}: ${reply ? 'still served' : r.closed ? 'closed' : 'no reply'}`);
    } finally {
      r.close();
    }
    const hz = await h.http(server, 'GET', '/healthz', { key: false });
    assert.equal(hz.status, 200, `server unhealthy after ${JSON.stringify(frame)}`);
  }
  t.diagnostic(outcomes.join('\n'));
  assert.equal(server.proc.exitCode, null, 'server exited');
  assert.equal(by.connected, true, 'bystander was disconnected');
  assert.deepEqual(by.events.filter((e) => e.event === 'new_message'), [], 'a raw frame reached the room as a message');
  // everyone is still served: a brand-new client and the bystander chat
  const fresh = await h.connect(t, server, { sub: h.uniq('fresh'), transport: 'polling' });
  await h.join(fresh, room);
  const got = h.waitFor(by, 'new_message', (m) => m.content === 'alive');
  const r = await h.send(fresh, room, 'alive');
  assert.deepEqual(await got, r.message);
  const hist = await h.emitAck(by, 'fetch_history', { roomId: room, limit: 200 });
  assert.deepEqual(hist.messages.map((m) => m.content), ['alive']);
});

test('raw frames on one connection in a row: the connection is either served or closed, never the server', async (t) => {
  const room = h.uniq('rawseq');
  const by = await h.connect(t, server, { sub: h.uniq('by'), client: 'v2' });
  await h.join(by, room);
  let r = await rawJoined(server, room);
  t.after(() => r.close());
  for (const f of ['42', '42[]', '42/chat,', '43/chat,9[]', '42[1,2]', 'garbage']) {
    if (r.closed) r = await rawJoined(server, room);
    r.send(f);
  }
  r.close();
  const fresh = await h.connect(t, server, { sub: h.uniq('fresh') });
  await h.join(fresh, room);
  const got = h.waitFor(by, 'new_message', (m) => m.content === 'alive2');
  await h.send(fresh, room, 'alive2');
  await got;
});

test('raw frames over a bare EIO3 websocket do not hurt anyone else', async (t) => {
  const room = h.uniq('raw3');
  const by = await h.connect(t, server, { sub: h.uniq('by') });
  await h.join(by, room);
  for (const f of ['42', '42[]', '42/chat,', '43/chat,9[]', '42[1,2]', 'garbage', '4', '40/chat', '2', '2probe', '5']) {
    const r = await raw(server, { eio: 3, query: `&token=${h.token(h.uniq('r3'))}` });
    r.send(f);
    r.send('421["no_such_event",{}]');
    await r.next((x) => x.startsWith('431'), 1500);
    r.close();
  }
  const hz = await h.http(server, 'GET', '/healthz', { key: false });
  assert.equal(hz.status, 200);
  const fresh = await h.connect(t, server, { sub: h.uniq('fresh'), client: 'v2' });
  await h.join(fresh, room);
  const got = h.waitFor(by, 'new_message', (m) => m.content === 'alive3');
  await h.send(fresh, room, 'alive3');
  await got;
});

test('raw: a CONNECT without token is refused with CONNECT_ERROR { message, data: { code } }', async (t) => {
  const r = await raw(server);
  t.after(() => r.close());
  r.send('40');
  const refused = await r.next((f) => f.startsWith('44'));
  assert.ok(refused, `CONNECT without token must be refused with CONNECT_ERROR; got ${JSON.stringify(r.frames)}`);
  const body = JSON.parse(refused.slice(2));
  assert.equal(body.message, 'Authentication failed');
  assert.equal(body.data.code, 'missing_token');
});

test('raw: an event before CONNECT is dropped or closes that connection, nothing else', async (t) => {
  const room = h.uniq('pre');
  const by = await h.connect(t, server, { sub: h.uniq('by') });
  await h.join(by, room);
  const r = await raw(server);
  t.after(() => r.close());
  r.send(`42${JSON.stringify(['send_message', { roomId: room, content: 'sneaky' }])}`);
  r.send(`421${JSON.stringify(['join_room', room])}`);
  const reply = await r.next((f) => f.startsWith('431'), 1000);
  assert.equal(reply, null, `an event before CONNECT was served: ${reply}`);
  const hz = await h.http(server, 'GET', '/healthz', { key: false });
  assert.equal(hz.status, 200);
  await h.barrier(by, room);
  assert.deepEqual(by.events.filter((e) => e.event !== 'room_users'), []);
});

for (const transport of ['websocket', 'polling']) {
  test(`a packet over socketio.max_http_buffer_size closes that connection only (${transport})`, async (t) => {
    const s = await h.startServer({ args: ['--socketio.max_http_buffer_size', '10000'] });
    t.after(() => s.stop());
    const room = h.uniq('big');
    const a = await h.connect(t, s, { sub: h.uniq('a'), transport });
    const b = await h.connect(t, s, { sub: h.uniq('b'), transport });
    await h.join(a, room);
    await h.join(b, room);
    // under the limit: fine
    const small = await h.send(a, room, 's'.repeat(3000));
    assert.equal(small.message.content.length, 3000);
    const disc = new Promise((resolve) => a.once('disconnect', resolve));
    const quiet = h.expectNoEvent(b, 'new_message', 1000, (m) => m.content.length > 10000);
    a.emit('send_message', { roomId: room, content: 'B'.repeat(20000) }, () => {});
    const t0 = Date.now();
    const reason = await Promise.race([disc, h.sleep(8000).then(() => 'not disconnected')]);
    t.diagnostic(`disconnected after ${Date.now() - t0} ms: ${reason}`);
    assert.notEqual(reason, 'not disconnected', 'an oversized packet must close the connection');
    await quiet;
    assert.equal(b.connected, true, 'the other connection was closed too');
    const got = h.waitFor(a.connected ? a : b, 'new_message', (m) => m.content === 'after big');
    await h.send(b, room, 'after big');
    await got;
    const c = await h.connect(t, s, { sub: h.uniq('c'), transport });
    await h.join(c, room);
    const hist = await h.emitAck(c, 'fetch_history', { roomId: room });
    assert.deepEqual(hist.messages.map((m) => m.content.length), [3000, 'after big'.length]);
    const t1 = Date.now();
    await s.stop();
    t.diagnostic(`SIGTERM took ${Date.now() - t1} ms`);
  });
}

test('Replies: every event that carries an ack id gets exactly one reply (counted on the wire)', async (t) => {
  const room = h.uniq('once');
  const r = await rawJoined(server, room);
  t.after(() => r.close());
  const cases = [
    ['join_room', room],
    ['join_room', { roomId: room, historyLimit: 500 }],
    ['send_message', { roomId: room, content: 'hello' }],
    ['send_message', { roomId: room, content: 'hi', messageId: 'wire-1' }],
    ['send_message', { roomId: room, content: 'hi', messageId: 'wire-1' }],
    ['send_message', { roomId: room, content: '' , messageId: 'wire-2' }],
    ['send_message', { roomId: 'user:x', content: 'x' }],
    ['fetch_history', { roomId: room }],
    ['typing_start', room], ['typing_start', room], ['typing_end', room],
    ['read_messages', { roomId: room, messageId: 'nope' }],
    ['leave_room', room],
    ['leave_room', room],
    ['no_such_event', {}],
  ];
  let id = 100;
  const ids = [];
  for (const c of cases) { ids.push(id); r.send(`42${id}${JSON.stringify(c)}`); id += 1; }
  // a final probe; once its reply is in, every earlier reply (one ordered queue) is in too
  r.send(`42${id}${JSON.stringify(['fetch_history', { roomId: room, limit: 1 }])}`);
  assert.ok(await r.next((f) => f.startsWith(`43${id}[`), 5000), 'no reply to the probe');
  await h.sleep(300); // and a short grace period for duplicates
  const acks = r.frames.filter((f) => /^43\d+\[/.test(f)).map((f) => Number(/^43(\d+)\[/.exec(f)[1]));
  for (const [i, ackId] of ids.entries()) {
    const n = acks.filter((x) => x === ackId).length;
    assert.equal(n, 1, `${JSON.stringify(cases[i])}: ${n} replies`);
  }
  // send_message with a callback is never also answered on ack:<messageId> or error
  assert.deepEqual(r.frames.filter((f) => f.startsWith('42["ack:') || f.startsWith('42["error"')), []);
});
