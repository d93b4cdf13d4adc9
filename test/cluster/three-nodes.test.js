'use strict';
// Three nodes on one Redis: broadcasts reach every node, presence counts a user's sockets on all
// three, and a node stopped gracefully (SIGTERM) takes its users out of presence at once (its
// sockets disconnect normally), without waiting for its heartbeat to expire.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/cluster');

describe('three nodes', () => {
  let cl; let A; let B; let C;
  before(async () => {
    cl = await h.startCluster({ nodes: 3 });
    [A, B, C] = cl.nodes;
  });
  after(async () => { if (cl) await cl.stop(); });

  test('a message from any node reaches sockets on the other two, once', async (t) => {
    const room = h.uniq('t3');
    const socks = [];
    for (const [i, n] of [A, B, C].entries()) {
      const s = await h.connect(t, n, { sub: h.uniq(`u${n.name}`), transport: i === 1 ? 'polling' : 'websocket' });
      await h.join(s, room);
      socks.push(s);
    }
    const sent = [];
    for (const s of socks) sent.push((await h.send(s, room, `from ${s.label}`)).message);
    for (const s of socks) {
      await h.waitUntil(() => h.seen(s, 'new_message').length >= 3, { ms: 5000, what: `3 messages at ${s.label}` });
      await h.barrier(s, room);
      assert.deepEqual(h.seen(s, 'new_message'), sent, `${s.label} got each message once, in order`);
    }
    for (const n of [A, B, C]) {
      const u = await h.request(n.url, 'GET', `/api/v1/rooms/${room}/users`);
      assert.equal(u.body.count, 3, `users via ${n.name}`);
    }
  });

  test('one user on three nodes: one user_joined; user_left only when the third socket goes', async (t) => {
    const room = h.uniq('t3p');
    const obs = await h.connect(t, A, { sub: h.uniq('obs') });
    await h.join(obs, room);
    const user = h.uniq('u');
    const s = [];
    for (const n of [A, B, C]) s.push(await h.connect(t, n, { sub: user, transport: n === B ? 'polling' : 'websocket' }));
    for (const x of s) assert.equal((await h.join(x, room)).count, 2);
    await h.barrier(obs, room);
    await h.waitSeen(obs, 'user_joined', (e) => e.userId === user);
    h.closeSocket(s[2]);
    h.closeSocket(s[0]);
    await h.expectNoEvent(obs, 'user_left', (e) => e.userId === user, 900);
    assert.equal(h.seen(obs, 'user_joined', (e) => e.userId === user).length, 1, 'one user_joined for three sockets');
    assert.equal((await h.request(C.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count, 2);
    const left = h.waitFor(obs, 'user_left', (e) => e.userId === user, 10000);
    h.closeSocket(s[1]);
    await left;
  });

  test('SIGTERM of a node: its users leave presence promptly (measured), the other nodes go on', async (t) => {
    const room = h.uniq('t3t');
    const obs = await h.connect(t, A, { sub: h.uniq('obs') });
    const other = await h.connect(t, B, { sub: h.uniq('other'), transport: 'polling' });
    await h.join(obs, room);
    await h.join(other, room);
    const userC = h.uniq('onC');
    const onC = await h.connect(t, C, { sub: userC });
    await h.join(onC, room);
    await h.waitSeen(obs, 'user_joined', (e) => e.userId === userC);
    const left = h.waitFor(obs, 'user_left', (e) => e.userId === userC, 20000);
    const at = Date.now();
    const r = await C.stop();
    assert.equal(r.code, 0, `graceful exit: ${JSON.stringify(r)}`);
    await left;
    const ms = Date.now() - at;
    t.diagnostic(`user_left ${ms} ms after SIGTERM of the user's node`);
    console.log(`# presence after SIGTERM: user_left ${ms} ms after SIGTERM of the user's node`);
    const got = h.waitFor(other, 'new_message', (m) => m.content === 'still here');
    await h.send(obs, room, 'still here');
    await got;
    assert.equal((await h.request(B.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count, 2);
  });
});
