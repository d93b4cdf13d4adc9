'use strict';
// PROTOCOL.md "Server-side emit (HTTP API)": /api/v1/emit, room messages, room users, key
// handling, errors, /healthz, /readyz, /metrics.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let server;
before(async () => { server = await h.startServer(); });
after(async () => { if (server) await server.stop(); });

function assertHttpError(res, status, code) {
  assert.equal(res.status, status, `${res.status} ${res.text}`);
  assert.ok(res.body && typeof res.body === 'object', `error body is not JSON: ${res.text}`);
  assert.equal(res.body.success, false, res.text);
  assert.equal(res.body.code, code, res.text);
  assert.equal(typeof res.body.error, 'string', res.text);
  assert.ok(res.body.error.length > 0, `error must not be empty: ${res.text}`);
  assert.match(res.headers.get('content-type') || '', /^application\/json/, `content-type of ${res.text}`);
}

describe('API keys', () => {
  test('a missing key is 401 unauthorized', async () => {
    for (const [m, p, body] of [
      ['POST', '/api/v1/emit', { rooms: ['x'], event: 'e', data: 1 }],
      ['POST', '/api/v1/rooms/x/messages', { content: 'hi' }],
      ['GET', '/api/v1/rooms/x/messages'],
      ['GET', '/api/v1/rooms/x/users'],
    ]) {
      assertHttpError(await h.http(server, m, p, { body, key: false }), 401, 'unauthorized');
    }
  });
  test('a wrong key is 401 unauthorized', async () => {
    assertHttpError(await h.http(server, 'POST', '/api/v1/emit', { body: { rooms: ['x'], event: 'e' }, key: 'wrong-key' }), 401, 'unauthorized');
    assertHttpError(await h.http(server, 'GET', '/api/v1/rooms/x/messages', { key: 'wrong-key' }), 401, 'unauthorized');
    const basic = await h.http(server, 'GET', '/api/v1/rooms/x/users', { key: false, headers: { Authorization: `Basic ${h.API_KEY}` } });
    assertHttpError(basic, 401, 'unauthorized');
  });
  test('several keys (api.keys list): each one works', async (t) => {
    const s = await h.startServer({ apiKey: false, env: { IOHUB_API_KEYS: 'k-one,k-two' } });
    t.after(() => s.stop());
    assert.equal((await h.http(s, 'GET', '/api/v1/rooms/x/users', { key: 'k-one' })).status, 200);
    assert.equal((await h.http(s, 'GET', '/api/v1/rooms/x/users', { key: 'k-two' })).status, 200);
    assert.equal((await h.http(s, 'GET', '/api/v1/rooms/x/users', { key: 'k-three' })).status, 401);
  });
  test('no key configured: every /api/ request (routes, wrong methods, unknown paths) answers 404 not_found as JSON', async (t) => {
    const s = await h.startServer({ apiKey: false });
    t.after(() => s.stop());
    for (const key of [false, 'anything']) {
      assertHttpError(await h.http(s, 'POST', '/api/v1/emit', { body: { rooms: ['x'], event: 'e' }, key }), 404, 'not_found');
      assertHttpError(await h.http(s, 'POST', '/api/v1/rooms/x/messages', { body: { content: 'hi' }, key }), 404, 'not_found');
      assertHttpError(await h.http(s, 'GET', '/api/v1/rooms/x/messages', { key }), 404, 'not_found');
      assertHttpError(await h.http(s, 'GET', '/api/v1/rooms/x/users', { key }), 404, 'not_found');
      assertHttpError(await h.http(s, 'GET', '/api/v1/emit', { key }), 404, 'not_found');
      assertHttpError(await h.http(s, 'POST', '/api/v1/nope', { body: {}, key }), 404, 'not_found');
    }
    assert.equal((await h.http(s, 'GET', '/healthz', { key: false })).status, 200);
  });
  test('valid key: a wrong method or an unknown path under /api/ is 404 not_found as JSON; the routes still answer', async () => {
    for (const [m, p, body] of [
      ['GET', '/api/v1/emit'],
      ['PUT', '/api/v1/emit', { rooms: ['x'], event: 'e' }],
      ['DELETE', '/api/v1/rooms/x/messages'],
      ['POST', '/api/v1/rooms/x/users', {}],
      ['POST', '/api/v1/nope', {}],
      ['GET', '/api/v2/emit'],
      ['GET', '/api/v1/rooms/a/b/users'],
    ]) {
      const res = await h.http(server, m, p, { body });
      assertHttpError(res, 404, 'not_found');
      assert.ok(res.body.error.includes(p), `the error names the path: ${res.text}`);
    }
    assert.equal((await h.http(server, 'GET', '/api/v1/rooms/x/users')).status, 200);
    assertHttpError(await h.http(server, 'POST', '/api/v1/emit', { body: { rooms: [], event: 'e' } }), 400, 'bad_request');
  });
  test('missing or wrong key: a wrong method or an unknown path under /api/ is 401 unauthorized too (the key is checked first)', async () => {
    for (const key of [false, 'wrong-key']) {
      assertHttpError(await h.http(server, 'GET', '/api/v1/emit', { key }), 401, 'unauthorized');
      assertHttpError(await h.http(server, 'POST', '/api/v1/nope', { body: {}, key }), 401, 'unauthorized');
    }
  });
});

describe('POST /api/v1/emit', () => {
  test('202; reaches the sockets in the rooms (all transports, both clients), not the others', async (t) => {
    const room = h.uniq('emit');
    const socks = [
      await h.connect(t, server, { sub: h.uniq('a'), transport: 'websocket' }),
      await h.connect(t, server, { sub: h.uniq('b'), transport: 'polling' }),
      await h.connect(t, server, { sub: h.uniq('c'), client: 'v2' }),
    ];
    for (const s of socks) await h.join(s, room);
    const outsider = await h.connect(t, server, { sub: h.uniq('o') });
    await h.join(outsider, h.uniq('other'));
    const waits = socks.map((s) => h.waitFor(s, 'announcement', (d) => d && d.text === 'hello'));
    const quiet = h.expectNoEvent(outsider, 'announcement', 700);
    const res = await h.http(server, 'POST', '/api/v1/emit', { body: { rooms: [room], event: 'announcement', data: { text: 'hello', n: [1, 2] } } });
    assert.equal(res.status, 202, res.text);
    for (const w of waits) assert.deepEqual(await w, { text: 'hello', n: [1, 2] });
    await quiet;
  });

  test('several rooms: a socket in two of them gets the event once; except excludes a room', async (t) => {
    const r1 = h.uniq('e1'); const r2 = h.uniq('e2'); const rx = h.uniq('ex');
    const both = await h.connect(t, server, { sub: h.uniq('both') });
    await h.join(both, r1); await h.join(both, r2);
    const only2 = await h.connect(t, server, { sub: h.uniq('only2') });
    await h.join(only2, r2);
    const excluded = await h.connect(t, server, { sub: h.uniq('excl') });
    await h.join(excluded, r1); await h.join(excluded, rx);
    const seen = h.collect(both, 'multi');
    const at2 = h.waitFor(only2, 'multi');
    const quiet = h.expectNoEvent(excluded, 'multi', 800);
    const res = await h.http(server, 'POST', '/api/v1/emit', { body: { rooms: [r1, r2], except: [rx], event: 'multi', data: 'x' } });
    assert.equal(res.status, 202, res.text);
    assert.equal(await at2, 'x');
    await quiet;
    await h.barrier(both, r1);
    assert.deepEqual(seen, ['x']);
  });

  test('namespace selects the namespace (default /)', async (t) => {
    const room = h.uniq('ns');
    const root = await h.connect(t, server, { sub: h.uniq('r') });
    const chat = await h.connect(t, server, { sub: h.uniq('c'), nsp: '/chat' });
    await h.join(root, room); await h.join(chat, room);
    const atChat = h.waitFor(chat, 'nsEvent');
    const quiet = h.expectNoEvent(root, 'nsEvent', 700);
    assert.equal((await h.http(server, 'POST', '/api/v1/emit', { body: { namespace: '/chat', rooms: [room], event: 'nsEvent', data: 1 } })).status, 202);
    assert.equal(await atChat, 1);
    await quiet;
    const atRoot = h.waitFor(root, 'nsEvent2');
    const quietChat = h.expectNoEvent(chat, 'nsEvent2', 700);
    assert.equal((await h.http(server, 'POST', '/api/v1/emit', { body: { rooms: [room], event: 'nsEvent2', data: 2 } })).status, 202);
    assert.equal(await atRoot, 2);
    await quietChat;
  });

  test('reserved event names are 400', async (t) => {
    const room = h.uniq('res');
    const s = await h.connect(t, server, { sub: h.uniq('r') });
    await h.join(s, room);
    const mark = s.events.length;
    for (const event of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'error', 'newListener', 'removeListener']) {
      assertHttpError(await h.http(server, 'POST', '/api/v1/emit', { body: { rooms: [room], event, data: {} } }), 400, 'bad_request');
    }
    await h.barrier(s, room);
    assert.deepEqual(h.eventsSince(s, mark), []);
    assert.equal(s.connected, true);
  });

  test('rooms must be a non-empty list; event must be a string; the body must be JSON', async () => {
    const bad = [
      { rooms: [], event: 'e', data: 1 },
      { event: 'e', data: 1 },
      { rooms: 'room', event: 'e' },
      { rooms: [1], event: 'e' },
      { rooms: ['x'] },
      { rooms: ['x'], event: '' },
      { rooms: ['x'], event: 5 },
    ];
    for (const body of bad) assertHttpError(await h.http(server, 'POST', '/api/v1/emit', { body }), 400, 'bad_request');
    assertHttpError(await h.http(server, 'POST', '/api/v1/emit', { body: '{"rooms": [' }), 400, 'bad_request');
  });
});

describe('room messages', () => {
  test('POST /api/v1/rooms/{roomId}/messages -> 201 with the stored Message (default system/System), broadcast as new_message', async (t) => {
    const room = h.uniq('post');
    const s = await h.connect(t, server, { sub: h.uniq('r') });
    await h.join(s, room);
    const got = h.waitFor(s, 'new_message', (m) => m.content === 'from backend');
    const res = await h.http(server, 'POST', `/api/v1/rooms/${room}/messages?namespace=/`, { body: { content: 'from backend' } });
    assert.equal(res.status, 201, res.text);
    h.assertMessage(res.body, { roomId: room, content: 'from backend', userId: 'system', userName: 'System', replyTo: null, clientMessageId: null });
    assert.deepEqual(await got, res.body);
    const hist = await h.emitAck(s, 'fetch_history', { roomId: room });
    assert.deepEqual(hist.messages, [res.body]);
  });

  test('POST with userId/userName uses them; namespace query selects the namespace', async (t) => {
    const room = h.uniq('post2');
    const chat = await h.connect(t, server, { sub: h.uniq('c'), nsp: '/chat' });
    const root = await h.connect(t, server, { sub: h.uniq('r') });
    await h.join(chat, room); await h.join(root, room);
    const got = h.waitFor(chat, 'new_message', (m) => m.content === 'bot says');
    const quiet = h.expectNoEvent(root, 'new_message', 700);
    const res = await h.http(server, 'POST', `/api/v1/rooms/${room}/messages?namespace=/chat`, { body: { content: 'bot says', userId: 'bot-1', userName: 'Bot' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.userId, 'bot-1');
    assert.equal(res.body.userName, 'Bot');
    assert.deepEqual(await got, res.body);
    await quiet;
    const rootHist = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages?namespace=/`);
    assert.deepEqual(rootHist.body.messages, []);
    const noNs = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages`);
    assert.deepEqual(noNs.body.messages, [], 'namespace defaults to /');
  });

  test('POST validation: blank content 400, too long 413, bad roomId 400, user: room 403', async () => {
    const room = h.uniq('pv');
    assertHttpError(await h.http(server, 'POST', `/api/v1/rooms/${room}/messages`, { body: { content: '  ' } }), 400, 'bad_request');
    assertHttpError(await h.http(server, 'POST', `/api/v1/rooms/${room}/messages`, { body: {} }), 400, 'bad_request');
    assertHttpError(await h.http(server, 'POST', `/api/v1/rooms/${room}/messages`, { body: { content: 5 } }), 400, 'bad_request');
    assertHttpError(await h.http(server, 'POST', `/api/v1/rooms/${room}/messages`, { body: 'not json' }), 400, 'bad_request');
    assertHttpError(await h.http(server, 'POST', `/api/v1/rooms/${room}/messages`, { body: { content: 'x'.repeat(4001) } }), 413, 'too_large');
    assertHttpError(await h.http(server, 'POST', `/api/v1/rooms/${'a'.repeat(129)}/messages`, { body: { content: 'x' } }), 400, 'bad_request');
    assertHttpError(await h.http(server, 'POST', '/api/v1/rooms/-bad/messages', { body: { content: 'x' } }), 400, 'bad_request');
    assertHttpError(await h.http(server, 'POST', '/api/v1/rooms/user:u1/messages', { body: { content: 'x' } }), 403, 'forbidden');
    const hist = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages`);
    assert.deepEqual(hist.body.messages, []);
  });

  test('GET /api/v1/rooms/{roomId}/messages pages with before and limit -> { messages (oldest first), hasMore }', async () => {
    const room = h.uniq('get');
    const ids = [];
    for (let i = 1; i <= 5; i++) {
      const r = await h.http(server, 'POST', `/api/v1/rooms/${room}/messages?namespace=/`, { body: { content: `g${i}` } });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.id);
    }
    const p1 = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages?namespace=/&limit=2`);
    assert.equal(p1.status, 200);
    assert.deepEqual(Object.keys(p1.body).sort(), ['hasMore', 'messages']);
    assert.deepEqual(p1.body.messages.map((m) => m.content), ['g4', 'g5']);
    assert.equal(p1.body.hasMore, true);
    const p2 = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages?namespace=/&limit=2&before=${encodeURIComponent(p1.body.messages[0].id)}`);
    assert.deepEqual(p2.body.messages.map((m) => m.content), ['g2', 'g3']);
    assert.equal(p2.body.hasMore, true);
    const p3 = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages?namespace=/&limit=2&before=${encodeURIComponent(p2.body.messages[0].id)}`);
    assert.deepEqual(p3.body.messages.map((m) => m.content), ['g1']);
    assert.equal(p3.body.hasMore, false);
    const all = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages`);
    assert.deepEqual(all.body.messages.map((m) => m.id), ids);
    assert.equal(all.body.hasMore, false);
    for (const limit of ['0', '201', 'abc', '1.5', '-1']) {
      assertHttpError(await h.http(server, 'GET', `/api/v1/rooms/${room}/messages?limit=${limit}`), 400, 'bad_request');
    }
    assertHttpError(await h.http(server, 'GET', '/api/v1/rooms/user:u1/messages'), 403, 'forbidden');
    assertHttpError(await h.http(server, 'GET', '/api/v1/rooms/bad%20room/messages'), 400, 'bad_request');
  });
});

describe('room users', () => {
  test('GET /api/v1/rooms/{roomId}/users -> { users (sorted by userId), count }; user: rooms 403', async (t) => {
    const room = h.uniq('users');
    const ids = ['zed-' + h.uniq('x'), 'amy-' + h.uniq('x')];
    for (const id of ids) {
      const s = await h.connect(t, server, { sub: id, name: id.toUpperCase() });
      await h.join(s, room);
    }
    // the same user twice counts once
    await h.join(await h.connect(t, server, { sub: ids[0], name: ids[0].toUpperCase() }), room);
    const res = await h.http(server, 'GET', `/api/v1/rooms/${room}/users?namespace=/`);
    assert.equal(res.status, 200, res.text);
    const sorted = [...ids].sort();
    assert.deepEqual(res.body, { users: sorted.map((id) => ({ userId: id, userName: id.toUpperCase() })), count: 2 });
    const chat = await h.http(server, 'GET', `/api/v1/rooms/${room}/users?namespace=/chat`);
    assert.deepEqual(chat.body, { users: [], count: 0 });
    assertHttpError(await h.http(server, 'GET', '/api/v1/rooms/user:u1/users'), 403, 'forbidden');
  });
});

describe('unknown namespace and body size', () => {
  test('an unknown namespace is 404 not_found: ?namespace= on the room routes, namespace in the emit body; nothing is stored or delivered', async (t) => {
    const room = h.uniq('nsx');
    const s = await h.connect(t, server, { sub: h.uniq('n') });
    await h.join(s, room);
    const quiet = h.expectNoEvent(s, 'nsProbe', 700);
    const quietMsg = h.expectNoEvent(s, 'new_message', 700);
    for (const ns of ['/nope', '/chat2']) {
      const q = `?namespace=${encodeURIComponent(ns)}`;
      for (const res of [
        await h.http(server, 'POST', `/api/v1/rooms/${room}/messages${q}`, { body: { content: 'lost' } }),
        await h.http(server, 'GET', `/api/v1/rooms/${room}/messages${q}`),
        await h.http(server, 'GET', `/api/v1/rooms/${room}/users${q}`),
        await h.http(server, 'POST', '/api/v1/emit', { body: { namespace: ns, rooms: [room], event: 'nsProbe', data: 1 } }),
      ]) assertHttpError(res, 404, 'not_found');
    }
    await quiet;
    await quietMsg;
    for (const ns of ['/', '/chat']) {
      const hist = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages?namespace=${encodeURIComponent(ns)}`);
      assert.equal(hist.status, 200, hist.text);
      assert.deepEqual(hist.body.messages, [], `nothing stored in ${ns}`);
    }
  });

  test('a request body over 1 MiB is 413 too_large (emit and room messages); a body of exactly 1 MiB is accepted', async (t) => {
    const MiB = 1 << 20;
    // a JSON object of exactly total bytes: obj plus an ignored padding field
    const padded = (obj, total) => {
      const base = JSON.stringify({ ...obj, pad: '' }).length;
      const text = JSON.stringify({ ...obj, pad: 'x'.repeat(total - base) });
      assert.equal(Buffer.byteLength(text), total);
      return text;
    };
    const json = { 'Content-Type': 'application/json' };
    const room = h.uniq('big');
    const s = await h.connect(t, server, { sub: h.uniq('b') });
    await h.join(s, room);
    const bigEvents = h.collect(s, 'bigEmit');
    const posted = h.collect(s, 'new_message', (m) => m.roomId === room);

    assertHttpError(await h.http(server, 'POST', '/api/v1/emit',
      { body: padded({ rooms: [room], event: 'bigEmit', data: 'over' }, MiB + 1), headers: json }), 413, 'too_large');
    assertHttpError(await h.http(server, 'POST', `/api/v1/rooms/${room}/messages`,
      { body: padded({ content: 'over' }, MiB + 1), headers: json }), 413, 'too_large');

    const ok = await h.http(server, 'POST', '/api/v1/emit',
      { body: padded({ rooms: [room], event: 'bigEmit', data: 'at limit' }, MiB), headers: json });
    assert.equal(ok.status, 202, ok.text);
    const got = h.waitFor(s, 'new_message', (m) => m.roomId === room && m.content === 'at limit');
    const created = await h.http(server, 'POST', `/api/v1/rooms/${room}/messages`,
      { body: padded({ content: 'at limit' }, MiB), headers: json });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(await got, created.body);
    await h.barrier(s, room);
    assert.deepEqual(bigEvents, ['at limit'], 'only the emit within the limit was delivered');
    assert.deepEqual(posted.map((m) => m.content), ['at limit']);
    const hist = await h.http(server, 'GET', `/api/v1/rooms/${room}/messages`);
    assert.deepEqual(hist.body.messages.map((m) => m.content), ['at limit'], 'the oversized post was not stored');
  });
});

describe('health and metrics', () => {
  test('GET /healthz is 200', async () => {
    const r = await h.http(server, 'GET', '/healthz', { key: false });
    assert.equal(r.status, 200);
  });
  test('GET /readyz is 200 when the store is reachable', async () => {
    const r = await h.http(server, 'GET', '/readyz', { key: false });
    assert.equal(r.status, 200, r.text);
  });
  test('GET /metrics is Prometheus text format', async (t) => {
    const s = await h.connect(t, server, { sub: h.uniq('m') });
    await h.join(s, h.uniq('met'));
    const r = await h.http(server, 'GET', '/metrics', { key: false });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /^text\/plain/);
    const lines = r.text.split('\n').filter((l) => l.length);
    assert.ok(lines.some((l) => l.startsWith('# TYPE ')), 'no # TYPE lines');
    assert.ok(lines.some((l) => l.startsWith('# HELP ')), 'no # HELP lines');
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?([0-9.eE+-]+|NaN|\+Inf|-Inf)( \d+)?$/;
    for (const l of lines) if (!l.startsWith('#')) assert.match(l, sample);
    assert.ok(lines.filter((l) => !l.startsWith('#')).length > 5, 'too few samples');
  });
  test('GET /metrics counts what issue 2 names: sockets per namespace, events by name, auth failures by code', async (t) => {
    const c = await h.connect(t, server, { sub: h.uniq('m'), nsp: '/chat' });
    await h.join(c, h.uniq('metrics'));
    await h.connectError(server, { transport: 'websocket' }); // missing_token
    const r = await h.http(server, 'GET', '/metrics', { key: false });
    const samples = r.text.split('\n').filter((l) => l && !l.startsWith('#'));
    const value = (l) => Number(l.slice(l.lastIndexOf(' ') + 1));
    assert.ok(samples.some((l) => l.includes('"/chat"') && value(l) >= 1), 'no sample labelled with the /chat namespace');
    assert.ok(samples.some((l) => l.includes('"join_room"') && value(l) >= 1), 'no sample labelled with the join_room event');
    assert.ok(samples.some((l) => l.includes('"missing_token"') && value(l) >= 1), 'no sample labelled with the missing_token auth failure');
  });
});
