'use strict';
// PROTOCOL.md "Transport": Socket.IO v5 (socket.io-client@4) and v4/EIO3 (socket.io-client@2)
// over websocket-only, polling-only and the default polling->websocket upgrade. The core
// chat flow (connect, join, send, receive, ack) runs on each combination.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const h = require('./lib/harness');

let server;
before(async () => {
  server = await h.startServer({ args: ['--limits.messages_per_second', '1000', '--limits.message_burst', '1000'] });
});
after(async () => { if (server) await server.stop(); });

for (const client of h.CLIENTS) {
  for (const transport of h.TRANSPORTS) {
    describe(`core flow over socket.io-client ${client} / ${transport}`, () => {
      test('connect, join_room, send_message with ack, new_message to everyone incl. sender', async (t) => {
        const room = h.uniq('core');
        const a = await h.connect(t, server, { client, transport, sub: h.uniq('ua'), name: 'Alice' });
        const b = await h.connect(t, server, { client, transport, sub: h.uniq('ub'), name: 'Bob' });
        assert.equal(a.connected, true);
        const ja = await h.join(a, room);
        assert.equal(ja.roomId, room);
        const jb = await h.join(b, room);
        assert.equal(jb.count, 2);

        const gotA = h.waitFor(a, 'new_message', (m) => m && m.content === 'hello');
        const gotB = h.waitFor(b, 'new_message', (m) => m && m.content === 'hello');
        const reply = await h.emitAck(a, 'send_message', { roomId: room, content: 'hello' });
        assert.equal(reply.success, true, JSON.stringify(reply));
        h.assertMessage(reply.message, { roomId: room, content: 'hello', userName: 'Alice', replyTo: null, clientMessageId: null });
        assert.equal(reply.savedId, reply.message.id);
        assert.deepEqual(await gotA, reply.message);
        assert.deepEqual(await gotB, reply.message);

        // and the other way round, with a unicode payload
        const gotA2 = h.waitFor(a, 'new_message', (m) => m && m.content === 'héllo ✓ 😀');
        const r2 = await h.emitAck(b, 'send_message', { roomId: room, content: 'héllo ✓ 😀' });
        assert.equal(r2.success, true);
        assert.deepEqual(await gotA2, r2.message);
        assert.equal(r2.message.userName, 'Bob');
      });

      test('protocol tour: presence, history, typing, read receipts, ack:<messageId>, error, leave', async (t) => {
        const room = h.uniq('tour');
        const ua = h.uniq('ta'); const ub = h.uniq('tb');
        const a = await h.connect(t, server, { client, transport, sub: ua, name: 'A' });
        const b = await h.connect(t, server, { client, transport, sub: ub, name: 'B' });
        const first = await h.join(a, room);
        assert.deepEqual(first, { success: true, roomId: room, users: [{ userId: ua, userName: 'A' }], count: 1, history: [], lastReadMessageId: null, unreadCount: 0 });
        const joinedAtA = h.waitFor(a, 'user_joined', (e) => e.roomId === room && e.userId === ub);
        const listAtB = h.waitFor(b, 'room_users', (e) => e.roomId === room && e.count === 2, 4000);
        await h.join(b, room);
        assert.deepEqual(await joinedAtA, { roomId: room, userId: ub, userName: 'B' });
        assert.deepEqual((await listAtB).users.map((u) => u.userId), [ua, ub].sort());

        const m1 = await h.send(a, room, 'one');
        const cid = h.uniq('cid');
        const viaAck = h.waitFor(a, `ack:${cid}`);
        a.emit('send_message', { roomId: room, content: 'two', messageId: cid });
        const m2 = await viaAck;
        assert.equal(m2.success, true);
        assert.equal(m2.message.clientMessageId, cid);
        const hist = await h.emitAck(b, 'fetch_history', { roomId: room, limit: 1 });
        assert.deepEqual(hist, { success: true, roomId: room, messages: [m2.message], hasMore: true });

        await h.settle(b, room);
        const typing = h.waitFor(b, 'user_typing', (e) => e.roomId === room && e.typing === true);
        assert.deepEqual(await h.emitAck(a, 'typing_start', { roomId: room }), { success: true, roomId: room });
        assert.deepEqual(await typing, { roomId: room, userId: ua, userName: 'A', typing: true });

        const readAtA = h.waitFor(a, 'messages_read', (e) => e.roomId === room && e.userId === ub);
        const rd = await h.emitAck(b, 'read_messages', { roomId: room, messageId: m1.message.id });
        assert.deepEqual(rd, { success: true, roomId: room, messageId: m1.message.id, unreadCount: 1 });
        assert.equal((await readAtA).messageId, m1.message.id);

        const err = h.waitFor(a, 'error', (e) => e && e.event === 'fetch_history');
        a.emit('fetch_history', { roomId: room, limit: 0 });
        assert.equal((await err).code, 'bad_request');

        await h.settle(b, room);
        const left = h.waitFor(b, 'user_left', (e) => e.roomId === room && e.userId === ua);
        const stopTyping = h.waitFor(b, 'user_typing', (e) => e.roomId === room && e.typing === false);
        assert.deepEqual(await h.emitAck(a, 'leave_room', { roomId: room }), { success: true, roomId: room });
        assert.deepEqual(await left, { roomId: room, userId: ua, userName: 'A' });
        await stopTyping;
        assert.equal(a.connected && b.connected, true);
      });

      test('join_room without callback answers with the joined_room event', async (t) => {
        const room = h.uniq('jr');
        const a = await h.connect(t, server, { client, transport, sub: h.uniq('u') });
        const ev = h.waitFor(a, 'joined_room', (r) => r && r.roomId === room);
        a.emit('join_room', { roomId: room });
        const r = await ev;
        assert.equal(r.success, true);
        assert.equal(r.count, 1);
      });
    });
  }
}

test('Transport: the default upgrade really moves socket.io-client@4 from polling to websocket', async (t) => {
  const a = h.makeSocket(server, { transport: 'upgrade', sub: h.uniq('u') });
  t.after(() => h.closeSocket(a));
  // the engine starts on polling ...
  assert.equal(a.io.engine.transport.name, 'polling');
  const upgraded = new Promise((resolve) => a.io.engine.once('upgrade', (tr) => resolve(tr.name)));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connect')), 20000);
    a.on('connect', () => { clearTimeout(timer); resolve(); });
    a.on('connect_error', (e) => { clearTimeout(timer); reject(e); });
  });
  // ... and moves to websocket with the Engine.IO upgrade
  assert.equal(await Promise.race([upgraded, h.sleep(10000).then(() => 'no upgrade')]), 'websocket');
  await h.waitUpgraded(a);
  const room = h.uniq('up');
  await h.join(a, room);
  const r = await h.send(a, room, 'after upgrade');
  assert.equal(r.message.content, 'after upgrade');
});

test('Transport: socket.io-client@2 (EIO3) and @4 (EIO4) clients chat in the same room', async (t) => {
  const room = h.uniq('mix');
  const v2 = await h.connect(t, server, { client: 'v2', transport: 'websocket', sub: h.uniq('old') });
  const v4 = await h.connect(t, server, { client: 'v4', transport: 'polling', sub: h.uniq('new') });
  await h.join(v2, room);
  await h.join(v4, room);
  const at4 = h.waitFor(v4, 'new_message', (m) => m.content === 'from v2');
  const r = await h.send(v2, room, 'from v2');
  assert.deepEqual(await at4, r.message);
  const at2 = h.waitFor(v2, 'new_message', (m) => m.content === 'from v4');
  const r2 = await h.send(v4, room, 'from v4');
  assert.deepEqual(await at2, r2.message);
});

test('Transport: socket.io-client@2 can authenticate with the Authorization header (extraHeaders)', async (t) => {
  for (const transport of ['websocket', 'polling']) {
    const sub = h.uniq('hdr2');
    const s = await h.connect(t, server, { client: 'v2', transport, sub, place: 'header' });
    const j = await h.join(s, h.uniq('h2'));
    assert.deepEqual(j.users.map((u) => u.userId), [sub]);
  }
});

test('Transport: CORS allows any origin in dev mode', async (t) => {
  const dev = await h.startServer({ args: ['--dev'] });
  t.after(() => dev.stop());
  const res = await fetch(`${dev.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'http://anything.example' } });
  await res.text();
  assert.equal(res.headers.get('access-control-allow-origin'), 'http://anything.example');
});

test('Transport: CORS allows the configured origins only (cors.origins)', async (t) => {
  const s = await h.startServer({ args: ['--cors.origins', 'http://good.example'] });
  t.after(() => s.stop());
  const good = await fetch(`${s.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'http://good.example' } });
  await good.text();
  assert.equal(good.headers.get('access-control-allow-origin'), 'http://good.example');
  const bad = await fetch(`${s.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'http://evil.example' } });
  await bad.text();
  const acao = bad.headers.get('access-control-allow-origin');
  assert.ok(acao !== 'http://evil.example' && acao !== '*', `evil origin allowed: ${acao}`);
});

test('Transport: EIO3 refused when socketio.allow_eio3 is off', async (t) => {
  const s = await h.startServer({ args: ['--socketio.allow_eio3=false'] });
  t.after(() => s.stop());
  const res = await fetch(`${s.url}/socket.io/?EIO=3&transport=polling`);
  await res.text();
  assert.equal(res.status, 400);
  // EIO4 still works there
  const a = await h.connect(t, s, { sub: h.uniq('u') });
  assert.equal(a.connected, true);
});

test('Transport: every namespace CONNECT and the first event after it are answered (600 bare websocket handshakes in a row)', async () => {
  // A client that sends CONNECT after the Engine.IO open packet must get CONNECT (40) or
  // CONNECT_ERROR (44) back, and then an ack for its first event; a silent server (or one that
  // drops the connection) leaves socket.io-client hanging or reconnecting.
  const tok = h.token('handshake');
  const room = h.uniq('hs');
  const failures = [];
  const N = 600;
  for (let i = 0; i < N; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
    const got = [];
    const outcome = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 3000);
      ws.on('error', () => {});
      ws.on('close', (code) => { clearTimeout(timer); resolve(`closed by the server (${code})`); });
      ws.on('message', (d) => {
        const f = d.toString();
        got.push(f.slice(0, 40));
        if (f.startsWith('0')) ws.send(`40${JSON.stringify({ token: tok })}`);
        else if (f.startsWith('40')) ws.send(`421${JSON.stringify(['join_room', room])}`);
        else if (f.startsWith('431')) { clearTimeout(timer); resolve('ok'); }
      });
    });
    ws.removeAllListeners('close');
    ws.terminate();
    if (outcome !== 'ok') failures.push({ i, outcome, got });
  }
  assert.deepEqual(failures, [], `${failures.length} of ${N} connections failed between open and the first ack`);
});

test('socketio.ping_interval / ping_timeout: a client that stops answering pings is dropped and its presence ends', async (t) => {
  const s = await h.startServer({ args: ['--socketio.ping_interval', '400ms', '--socketio.ping_timeout', '800ms'] });
  t.after(() => s.stop());
  const room = h.uniq('hb');
  const watcher = await h.connect(t, s, { sub: 'watcher' });
  await h.join(watcher, room);
  let watcherGone = null;
  watcher.on('disconnect', (r) => { watcherGone = r; });
  // a bare websocket that joins and then never answers the server's pings
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/socket.io/?EIO=4&transport=websocket`);
  t.after(() => ws.terminate());
  const open = await new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (d) => {
      const f = d.toString();
      if (f.startsWith('0')) { resolve(JSON.parse(f.slice(1))); ws.send(`40${JSON.stringify({ token: h.token('silent') })}`); }
      if (f.startsWith('40{')) ws.send(`421${JSON.stringify(['join_room', room])}`);
    });
  });
  assert.equal(open.pingInterval, 400);
  assert.equal(open.pingTimeout, 800);
  await h.waitFor(watcher, 'user_joined', (e) => e.userId === 'silent');
  const closed = new Promise((resolve) => ws.on('close', resolve));
  // bounded: pingInterval + pingTimeout is 1.2 s here; with the default heartbeat it would be 45 s
  await h.waitFor(watcher, 'user_left', (e) => e.userId === 'silent', 6000)
    .catch((e) => { throw new Error(`${e.message}; watcher disconnected: ${watcherGone}`); });
  await Promise.race([closed, h.sleep(3000)]);
  assert.equal(ws.readyState, WebSocket.CLOSED, 'the server did not close the silent connection');
  // the answering client stays connected across the ping rounds
  assert.equal(watcher.connected, true, `watcher disconnected: ${watcherGone}`);
});

test('socketio.ping_interval / ping_timeout over EIO3: socket.io-client@2 pings, the server pongs, the socket stays connected ({websocket,polling})', async (t) => {
  // Engine.IO 3 turns the heartbeat round: the CLIENT sends ping (2) every pingInterval and
  // closes the connection ("ping timeout") unless pong (3) comes back within pingTimeout.
  // socket.io-client@2's Manager re-emits the engine's pong on every Socket as 'pong'.
  const s = await h.startServer({ args: ['--socketio.ping_interval', '300ms', '--socketio.ping_timeout', '400ms'] });
  t.after(() => s.stop());
  const ROUNDS = 3;
  const room = h.uniq('hb3');
  const clients = [];
  for (const transport of ['websocket', 'polling']) {
    const socket = await h.connect(t, s, { client: 'v2', transport, sub: h.uniq(`hb3-${transport}`) });
    const c = { transport, socket, id: socket.id, pongs: [], disconnects: [] };
    socket.on('pong', (latency) => c.pongs.push(latency));
    socket.on('disconnect', (reason) => c.disconnects.push(reason));
    assert.equal(socket.io.engine.transport.name, transport);
    // the EIO3 open packet carries the configured heartbeat (the client's own timers use it)
    assert.equal(socket.io.engine.pingInterval, 300, transport);
    assert.equal(socket.io.engine.pingTimeout, 400, transport);
    clients.push(c);
  }
  // bounded wait: ROUNDS ping/pong round trips on each client, failing early on a disconnect
  const waits = await Promise.allSettled(clients.map((c) => new Promise((resolve, reject) => {
    const report = (what) => `${c.transport}: ${what} after ${c.pongs.length} pong(s); disconnects: ${JSON.stringify(c.disconnects)}`;
    const timer = setTimeout(() => { clearInterval(poll); reject(new Error(report(`no ${ROUNDS} pongs within 10 s`))); }, 10000);
    const poll = setInterval(() => {
      if (c.disconnects.length) { clearInterval(poll); clearTimeout(timer); reject(new Error(report('disconnected'))); }
      else if (c.pongs.length >= ROUNDS) { clearInterval(poll); clearTimeout(timer); resolve(); }
    }, 20);
  })));
  const failed = waits.filter((w) => w.status === 'rejected').map((w) => w.reason.message);
  assert.deepEqual(failed, [], 'EIO3 heartbeat broke the connection');
  for (const c of clients) {
    assert.ok(c.pongs.length >= ROUNDS, `${c.transport}: ${c.pongs.length} pongs`);
    assert.deepEqual(c.disconnects, [], `${c.transport}: disconnected across the ping rounds`);
    assert.equal(c.socket.connected, true, `${c.transport}: not connected`);
    assert.equal(c.socket.id, c.id, `${c.transport}: socket id changed`);
    assert.equal(c.socket.io.engine.transport.name, c.transport);
    // and the session still serves events after the heartbeats
    const reply = await h.join(c.socket, room);
    assert.equal(reply.roomId, room);
  }
});

test('limits.max_connections_per_ip caps connections from one address (0 = unlimited)', async (t) => {
  const s = await h.startServer({ args: ['--limits.max_connections_per_ip', '2'] });
  t.after(() => s.stop());
  const a = await h.connect(t, s, { sub: 'ip1' });
  await h.connect(t, s, { sub: 'ip2', transport: 'polling' });
  const third = h.makeSocket(s, { sub: 'ip3' });
  t.after(() => h.closeSocket(third));
  const outcome = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 10000);
    third.on('connect', () => { clearTimeout(timer); resolve('connected'); });
    third.on('connect_error', () => { clearTimeout(timer); resolve('refused'); });
  });
  assert.equal(outcome, 'refused');
  // a slot frees up when a connection ends
  const gone = new Promise((resolve) => a.once('disconnect', resolve));
  h.closeSocket(a);
  await gone;
  let again;
  for (let i = 0; i < 20 && !again; i++) {
    again = await h.connect(t, s, { sub: 'ip4' }).catch(() => null);
    if (!again) await h.sleep(100); // the server may notice the close a moment later
  }
  assert.ok(again && again.connected, 'no connection possible after one was closed');
});

test('Transport: / and /chat multiplexed over one Engine.IO connection (one Manager) stay separate sockets', async (t) => {
  const { Manager } = require('socket.io-client');
  for (const transports of [['websocket'], ['polling']]) {
    const manager = new Manager(server.url, { transports, upgrade: false, reconnection: false });
    const tok = h.token(h.uniq('mux'));
    const root = manager.socket('/', { auth: { token: tok } });
    const chat = manager.socket('/chat', { auth: { token: tok } });
    t.after(() => { root.disconnect(); chat.disconnect(); manager.engine && manager.engine.close(); });
    await Promise.all([root, chat].map((so) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no connect')), 20000);
      so.on('connect', () => { clearTimeout(timer); resolve(); });
      so.on('connect_error', (e) => { clearTimeout(timer); reject(e); });
    })));
    assert.equal(root.io, chat.io);
    const room = h.uniq('mux');
    const other = await h.connect(t, server, { sub: h.uniq('o'), nsp: '/chat' });
    await h.join(other, room);
    assert.equal((await h.emitAck(chat, 'join_room', room)).success, true);
    const got = h.waitFor(other, 'new_message', (m) => m.content === 'via mux');
    const r = await h.emitAck(chat, 'send_message', { roomId: room, content: 'via mux' });
    assert.equal(r.success, true);
    await got;
    // root never joined the room in /: it may not send there, and it got nothing from /chat
    h.assertFail(await h.emitAck(root, 'send_message', { roomId: room, content: 'x' }), 'forbidden');
    // leaving one namespace keeps the other
    root.disconnect();
    const r2 = await h.emitAck(chat, 'send_message', { roomId: room, content: 'still here' });
    assert.equal(r2.success, true);
    chat.disconnect();
  }
});
