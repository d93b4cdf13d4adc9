'use strict';
// Every rule of PROTOCOL.md that must hold across nodes (its Cluster section), checked with a
// real redis-server, two real iohub nodes and real nginx (examples/nginx/nginx.conf, ip_hash):
// clients pinned to different nodes by connecting to each node's own port, and the same
// through nginx, where each client's loopback source address decides its node.
// Runs once per adapter mode: classic pub/sub and Redis 7 sharded pub/sub (--redis.sharded).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/cluster');

const MODES = (process.env.CLUSTER_MODES || 'classic,sharded').split(',').filter(Boolean);
const PAIRS = [['websocket', 'websocket'], ['polling', 'polling'], ['websocket', 'polling'], ['polling', 'websocket']];

for (const mode of MODES) {
  describe(`cluster (${mode} pub/sub): two nodes, nginx in front`, () => {
    let cl; let A; let B; let pins;
    before(async () => {
      cl = await h.startCluster({ nodes: 2, nginx: true, sharded: mode === 'sharded' });
      [A, B] = cl.nodes;
      pins = await h.pinAddresses(cl.nginx, cl.nodes);
    });
    after(async () => { if (cl) await cl.stop(); });

    test('/readyz answers 200 on every node; /healthz too', async () => {
      for (const n of [A, B]) {
        const r = await h.request(n.url, 'GET', '/readyz', { key: false });
        assert.equal(r.status, 200, `${n.name} /readyz: ${r.text}`);
        assert.equal(r.body.status, 'ready');
        assert.equal((await h.request(n.url, 'GET', '/healthz', { key: false })).status, 200);
      }
      // and through nginx
      assert.equal((await h.request(cl.nginx.url, 'GET', '/readyz', { key: false })).status, 200);
    });

    for (const [ta, tb] of PAIRS) {
      test(`new_message crosses nodes: sender on A (${ta}), receiver on B (${tb}), direct ports`, async (t) => {
        const room = h.uniq('x');
        const alice = await h.connect(t, A, { sub: h.uniq('alice'), transport: ta });
        const bob = await h.connect(t, B, { sub: h.uniq('bob'), transport: tb });
        await h.join(alice, room);
        await h.join(bob, room);
        const atBob = h.waitFor(bob, 'new_message', (m) => m.content === 'hello from A');
        const atAlice = h.waitFor(alice, 'new_message', (m) => m.content === 'hello from A');
        const r = await h.send(alice, room, 'hello from A', { messageId: 'c1' });
        const [mb, ma] = await Promise.all([atBob, atAlice]);
        assert.deepEqual(mb, r.message, 'B receives exactly the stored message');
        assert.deepEqual(ma, r.message);
        assert.equal(r.savedId, r.message.id);
        assert.match(mb.timestamp, h.TIMESTAMP_RE);
        assert.equal(mb.userId, alice.label);
        // and back
        const back = h.waitFor(alice, 'new_message', (m) => m.content === 'hello from B');
        const r2 = await h.send(bob, room, 'hello from B', { replyTo: r.message.id });
        assert.deepEqual(await back, r2.message);
        assert.equal(r2.message.replyTo, r.message.id, 'replyTo resolves a message stored by the other node');
        assert.ok(Buffer.compare(Buffer.from(r.message.id), Buffer.from(r2.message.id)) < 0, 'ids sort in arrival order across nodes');
        // exactly once each
        await h.barrier(bob, room);
        await h.barrier(alice, room);
        assert.equal(h.seen(bob, 'new_message', (m) => m.id === r.message.id).length, 1);
        assert.equal(h.seen(alice, 'new_message', (m) => m.id === r2.message.id).length, 1);
      });
    }

    for (const transport of ['polling', 'websocket', 'upgrade']) {
      test(`through nginx (ip_hash, ${transport === 'upgrade' ? 'polling upgraded to websocket' : `${transport}-only`}): clients from two source addresses land on different nodes and talk`, async (t) => {
        const room = h.uniq('ng');
        // The pinning probe showed which node each address reaches; check it again for these clients.
        assert.equal((await h.ownerOf(cl.nginx, cl.nodes, pins.get('A'))).name, 'A');
        assert.equal((await h.ownerOf(cl.nginx, cl.nodes, pins.get('B'))).name, 'B');
        const alice = await h.connect(t, cl.nginx, { sub: h.uniq('alice'), transport, localAddress: pins.get('A') });
        const bob = await h.connect(t, cl.nginx, { sub: h.uniq('bob'), transport, localAddress: pins.get('B') });
        assert.equal(alice.io.engine.transport.name, transport === 'upgrade' ? 'websocket' : transport);
        assert.equal(bob.io.engine.transport.name, transport === 'upgrade' ? 'websocket' : transport);
        await h.join(alice, room);
        const jb = await h.join(bob, room);
        assert.equal(jb.count, 2);
        // Many round trips: with polling, every one of them is a request that must reach the
        // node owning the session (sticky), or the session breaks.
        const N = 15;
        const gotBob = [];
        const gotAlice = [];
        bob.on('new_message', (m) => gotBob.push(m));
        alice.on('new_message', (m) => gotAlice.push(m));
        for (let i = 0; i < N; i++) {
          await h.send(alice, room, `a${i}`);
          await h.send(bob, room, `b${i}`);
        }
        await h.waitUntil(() => gotBob.length === 2 * N && gotAlice.length === 2 * N, { ms: 10000, what: `all ${2 * N} messages on both sides (bob ${gotBob.length}, alice ${gotAlice.length})` });
        assert.deepEqual(gotBob.map((m) => m.content), gotAlice.map((m) => m.content), 'both see the same order');
        assert.deepEqual(gotBob.map((m) => m.content), Array.from({ length: N }, (_, i) => [`a${i}`, `b${i}`]).flat());
        assert.ok(alice.connected && bob.connected);
        // The HTTP API through nginx reaches the same shared state.
        const hist = await h.request(cl.nginx.url, 'GET', `/api/v1/rooms/${room}/messages?limit=200`);
        assert.equal(hist.status, 200);
        assert.equal(hist.body.messages.length, 2 * N);
      });
    }

    test('user_typing crosses nodes (typing_start, typing_end, typing:false on leave), never to the sender', async (t) => {
      const room = h.uniq('ty');
      const alice = await h.connect(t, A, { sub: h.uniq('alice') });
      const bob = await h.connect(t, B, { sub: h.uniq('bob') });
      const carol = await h.connect(t, B, { sub: h.uniq('carol'), transport: 'polling' });
      await h.join(alice, room);
      await h.join(bob, room);
      await h.join(carol, room);
      for (const s of [bob, carol]) await h.barrier(s, room);
      const on = h.waitFor(bob, 'user_typing', (e) => e.typing === true && e.userId === alice.label);
      const r = await h.emitAck(alice, 'typing_start', { roomId: room });
      assert.equal(r.success, true);
      assert.deepEqual(await on, { roomId: room, userId: alice.label, userName: `Name ${alice.label}`, typing: true });
      const off = h.waitFor(bob, 'user_typing', (e) => e.typing === false && e.userId === alice.label);
      await h.emitAck(alice, 'typing_end', room);
      await off;
      // typing:false when leaving while typing, across nodes
      const again = h.waitFor(bob, 'user_typing', (e) => e.typing === true && e.userId === alice.label);
      await h.emitAck(alice, 'typing_start', room);
      await again;
      const offOnLeave = h.waitFor(bob, 'user_typing', (e) => e.typing === false && e.userId === alice.label);
      await h.emitAck(alice, 'leave_room', room);
      await offOnLeave;
      // B -> A direction, and the sender never hears itself
      await h.join(alice, room);
      await h.barrier(alice, room);
      const atAlice = h.waitFor(alice, 'user_typing', (e) => e.typing === true && e.userId === bob.label);
      await h.emitAck(bob, 'typing_start', room);
      await atAlice;
      await h.barrier(bob, room);
      assert.equal(h.seen(bob, 'user_typing', (e) => e.userId === bob.label).length, 0, 'sender got its own user_typing');
    });

    test('presence counts a user\'s sockets on both nodes: one user_joined, user_left only after the last socket, room_users across nodes', async (t) => {
      const room = h.uniq('pr');
      const obsA = await h.connect(t, A, { sub: h.uniq('obsA') });
      const obsB = await h.connect(t, B, { sub: h.uniq('obsB'), transport: 'polling' });
      await h.join(obsA, room);
      const jB = await h.join(obsB, room);
      assert.equal(jB.count, 2, `obsB sees obsA on the other node: ${JSON.stringify(jB)}`);
      await h.waitSeen(obsA, 'room_users', (e) => e.count === 2);

      const user = h.uniq('u');
      const u1 = await h.connect(t, A, { sub: user });
      const joinedAtB = h.waitFor(obsB, 'user_joined', (e) => e.userId === user);
      const joinedAtA = h.waitFor(obsA, 'user_joined', (e) => e.userId === user);
      const j1 = await h.join(u1, room);
      assert.equal(j1.count, 3);
      assert.deepEqual(await joinedAtB, { roomId: room, userId: user, userName: `Name ${user}` });
      await joinedAtA;
      await h.waitSeen(obsB, 'room_users', (e) => e.count === 3);
      await h.waitSeen(obsA, 'room_users', (e) => e.count === 3);

      // the same user's second socket, on the other node: announces nothing
      const markA = obsA.events.length;
      const markB = obsB.events.length;
      const u2 = await h.connect(t, B, { sub: user, transport: 'polling' });
      const j2 = await h.join(u2, room);
      assert.equal(j2.count, 3, 'second socket of a user counts the user once');
      assert.deepEqual(j2.users.map((u) => u.userId), [...j2.users.map((u) => u.userId)].sort(), 'users sorted by userId');
      assert.ok(j2.users.some((u) => u.userId === user));
      for (const n of [A, B]) {
        const r = await h.request(n.url, 'GET', `/api/v1/rooms/${room}/users`);
        assert.equal(r.status, 200);
        assert.equal(r.body.count, 3, `GET users on ${n.name}: ${r.text}`);
        assert.deepEqual(r.body.users, j2.users, `GET users on ${n.name} equals the join reply`);
      }
      await h.expectNoEvent(obsB, 'user_joined', (e) => e.userId === user, 900);
      assert.equal(h.seen(obsA, 'user_joined', (e) => e.userId === user, markA).length, 0);
      assert.equal(h.seen(obsA, 'room_users', () => true, markA).length, 0, 'no room_users for a second socket');
      assert.equal(h.seen(obsB, 'room_users', () => true, markB).length, 0, 'no room_users for a second socket');
      assert.equal(h.seen(u2, 'room_users').length, 0, 'the second socket gets no room_users either');

      // the first socket leaves: the user is still present through the other node
      const l1 = await h.emitAck(u1, 'leave_room', room);
      assert.equal(l1.success, true);
      await h.expectNoEvent(obsB, 'user_left', (e) => e.userId === user, 900);
      assert.equal(h.seen(obsA, 'user_left', (e) => e.userId === user).length, 0);
      assert.equal((await h.request(A.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count, 3);

      // the last socket (on B) disconnects: user_left on both nodes, count 2 everywhere
      const [lmA, lmB] = [obsA.events.length, obsB.events.length];
      const leftA = h.waitFor(obsA, 'user_left', (e) => e.userId === user, 10000);
      const leftB = h.waitFor(obsB, 'user_left', (e) => e.userId === user, 10000);
      h.closeSocket(u2);
      assert.deepEqual(await leftA, { roomId: room, userId: user, userName: `Name ${user}` });
      await leftB;
      await h.waitSeen(obsA, 'room_users', (e) => e.count === 2, { mark: lmA });
      await h.waitSeen(obsB, 'room_users', (e) => e.count === 2, { mark: lmB });
      for (const n of [A, B]) {
        await h.waitUntil(async () => (await h.request(n.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count === 2, { ms: 5000, what: `count 2 on ${n.name}` });
      }
      assert.equal(h.seen(obsA, 'user_left', (e) => e.userId === user).length, 1, 'exactly one user_left');
    });

    test('the same user\'s sockets through nginx on both nodes: presence counts the user once; user_left after the last', async (t) => {
      const room = h.uniq('prn');
      const user = h.uniq('u');
      const obs = await h.connect(t, cl.nginx, { sub: h.uniq('obs'), transport: 'polling', localAddress: pins.get('A') });
      await h.join(obs, room);
      const onB = await h.connect(t, cl.nginx, { sub: user, transport: 'websocket', localAddress: pins.get('B') });
      const onA = await h.connect(t, cl.nginx, { sub: user, transport: 'polling', localAddress: pins.get('A') });
      const joined = h.waitFor(obs, 'user_joined', (e) => e.userId === user);
      assert.equal((await h.join(onB, room)).count, 2);
      await joined;
      assert.equal((await h.join(onA, room)).count, 2);
      h.closeSocket(onB);
      await h.expectNoEvent(obs, 'user_left', (e) => e.userId === user, 900);
      const left = h.waitFor(obs, 'user_left', (e) => e.userId === user, 10000);
      h.closeSocket(onA);
      await left;
      const r = await h.request(cl.nginx.url, 'GET', `/api/v1/rooms/${room}/users`);
      assert.equal(r.body.count, 1);
    });

    test('history and read cursors are shared: written on A, read on B, cursor moved on B seen from A', async (t) => {
      const room = h.uniq('hi');
      const aliceId = h.uniq('alice');
      const bobId = h.uniq('bob');
      const alice = await h.connect(t, A, { sub: aliceId });
      await h.join(alice, room);
      const sent = [];
      for (let i = 0; i < 4; i++) sent.push((await h.send(alice, room, `m${i}`)).message);

      const bob = await h.connect(t, B, { sub: bobId, transport: 'polling' });
      const jb = await h.join(bob, room, { historyLimit: 3 });
      assert.deepEqual(jb.history, sent.slice(1), 'join on B returns the newest messages stored via A, oldest first');
      assert.equal(jb.lastReadMessageId, null);
      assert.equal(jb.unreadCount, 4);
      const fh = await h.emitAck(bob, 'fetch_history', { roomId: room, before: sent[2].id, limit: 10 });
      assert.deepEqual(fh.messages, sent.slice(0, 2));
      assert.equal(fh.hasMore, false);

      // bob reads up to m1 on B: messages_read reaches alice on A and bob himself
      const atAlice = h.waitFor(alice, 'messages_read', (e) => e.userId === bobId);
      const atBob = h.waitFor(bob, 'messages_read', (e) => e.userId === bobId);
      const rr = await h.emitAck(bob, 'read_messages', { roomId: room, messageId: sent[1].id });
      assert.equal(rr.success, true, JSON.stringify(rr));
      assert.equal(rr.unreadCount, 2);
      const ev = await atAlice;
      assert.equal(ev.messageId, sent[1].id);
      assert.match(ev.readAt, h.TIMESTAMP_RE);
      await atBob;

      // bob's other device on A sees the cursor; an older id on A changes nothing
      const bob2 = await h.connect(t, A, { sub: bobId });
      const j2 = await h.join(bob2, room);
      assert.equal(j2.lastReadMessageId, sent[1].id);
      assert.equal(j2.unreadCount, 2);
      const older = await h.emitAck(bob2, 'read_messages', { roomId: room, messageId: sent[0].id });
      assert.equal(older.success, true);
      assert.equal(older.messageId, sent[1].id, 'cursor only moves forward, across nodes');
      assert.equal(older.unreadCount, 2);

      // sending on B moves bob's cursor silently; A sees it
      const mine = (await h.send(bob, room, 'from bob')).message;
      const j3 = await h.emitAck(bob2, 'join_room', room);
      assert.equal(j3.lastReadMessageId, mine.id);
      assert.equal(j3.unreadCount, 0);

      // the HTTP history is the same from both nodes
      const ha = await h.fullHistory(A, room);
      const hb = await h.fullHistory(B, room);
      assert.deepEqual(ha, hb);
      assert.deepEqual(ha, [...sent, mine]);
    });

    test('retry de-duplication across nodes: same messageId to A then to B gets the same reply, stored and broadcast once', async (t) => {
      const room = h.uniq('dd');
      const user = h.uniq('alice');
      const onA = await h.connect(t, A, { sub: user });
      const onB = await h.connect(t, B, { sub: user, transport: 'polling' });
      const obs = await h.connect(t, B, { sub: h.uniq('obs') });
      const obsA = await h.connect(t, A, { sub: h.uniq('obsA'), transport: 'polling' });
      for (const s of [onA, onB, obs, obsA]) await h.join(s, room);

      const r1 = await h.send(onA, room, 'once', { messageId: 'retry-1' });
      const r2 = await h.send(onB, room, 'once', { messageId: 'retry-1' });
      assert.deepEqual(r2, r1, 'the retry on the other node gets the original reply');
      // without a callback: the reply comes on ack:<messageId>, still the original
      const viaEvent = h.waitFor(onB, 'ack:retry-1');
      onB.emit('send_message', { roomId: room, content: 'once', messageId: 'retry-1' });
      assert.deepEqual(await viaEvent, r1);

      // concurrent retries of a new id from both nodes: one message
      const [c1, c2] = await Promise.all([
        h.send(onA, room, 'race', { messageId: 'retry-2' }),
        h.send(onB, room, 'race', { messageId: 'retry-2' }),
      ]);
      assert.deepEqual(c1, c2, 'concurrent sends of one messageId on two nodes get one reply');

      for (const s of [obs, obsA, onA, onB]) await h.barrier(s, room);
      for (const s of [obs, obsA]) {
        assert.equal(h.seen(s, 'new_message', (m) => m.clientMessageId === 'retry-1').length, 1, `${s.label}: retry-1 broadcast once`);
        assert.equal(h.seen(s, 'new_message', (m) => m.clientMessageId === 'retry-2').length, 1, `${s.label}: retry-2 broadcast once`);
      }
      const hist = await h.fullHistory(B, room);
      assert.deepEqual(hist.map((m) => m.clientMessageId), ['retry-1', 'retry-2'], 'stored once each');
      assert.equal(hist[0].id, r1.savedId);
      assert.equal(hist[1].id, c1.savedId);

      // another user with the same messageId is a different message
      const other = await h.connect(t, A, { sub: h.uniq('bob') });
      await h.join(other, room);
      const r3 = await h.send(other, room, 'not a retry', { messageId: 'retry-1' });
      assert.notEqual(r3.savedId, r1.savedId);
    });

    test('HTTP API on either node: emit on A reaches B, messages via B reach A, users from both', async (t) => {
      const room = h.uniq('api');
      const bobId = h.uniq('bob');
      const alice = await h.connect(t, A, { sub: h.uniq('alice'), transport: 'polling' });
      const bob = await h.connect(t, B, { sub: bobId });
      const bob2 = await h.connect(t, A, { sub: bobId, transport: 'polling' });
      await h.join(alice, room);
      await h.join(bob, room);

      const got = h.waitFor(bob, 'announcement', (d) => d.n === 1);
      const e1 = await h.request(A.url, 'POST', '/api/v1/emit', { body: { rooms: [room], event: 'announcement', data: { n: 1 } } });
      assert.equal(e1.status, 202, e1.text);
      assert.deepEqual(await got, { n: 1 });
      await h.waitSeen(alice, 'announcement', (d) => d.n === 1);

      // except, across nodes: bob is in room2 and excluded
      const room2 = h.uniq('api2');
      await h.join(bob, room2);
      const e2 = await h.request(A.url, 'POST', '/api/v1/emit', { body: { rooms: [room], except: [room2], event: 'announcement', data: { n: 2 } } });
      assert.equal(e2.status, 202);
      await h.waitSeen(alice, 'announcement', (d) => d.n === 2);
      await h.barrier(bob, room);
      await h.expectNoEvent(bob, 'announcement', (d) => d.n === 2, 500);

      // the personal room user:<sub> reaches every device of the user, on both nodes
      const dev1 = h.waitFor(bob, 'notify', (d) => d.n === 3);
      const dev2 = h.waitFor(bob2, 'notify', (d) => d.n === 3);
      const e3 = await h.request(B.url, 'POST', '/api/v1/emit', { body: { rooms: [`user:${bobId}`], event: 'notify', data: { n: 3 } } });
      assert.equal(e3.status, 202, e3.text);
      await Promise.all([dev1, dev2]);

      // a message posted on B is broadcast to A's socket and stored for both
      const atAlice = h.waitFor(alice, 'new_message', (m) => m.content === 'from the backend');
      const p = await h.request(B.url, 'POST', `/api/v1/rooms/${room}/messages?namespace=/`, { body: { content: 'from the backend' } });
      assert.equal(p.status, 201, p.text);
      assert.equal(p.body.userId, 'system');
      assert.deepEqual(await atAlice, p.body);
      const ga = await h.request(A.url, 'GET', `/api/v1/rooms/${room}/messages`);
      assert.deepEqual(ga.body.messages, [p.body]);

      for (const n of [A, B]) {
        const u = await h.request(n.url, 'GET', `/api/v1/rooms/${room}/users?namespace=/`);
        assert.equal(u.status, 200);
        assert.equal(u.body.count, 2, `users via ${n.name}: ${u.text}`);
      }
    });

    test('redis.key_prefix isolates clusters sharing one Redis: same room name, nothing crosses', async (t) => {
      const defer = h.deferrer(t);
      const X = await h.startNode(cl.redis, { name: 'X', prefix: h.uniq('otherprefix'), sharded: mode === 'sharded' });
      defer(() => X.stop());
      defer(() => h.closeClientsAndDrain([X]));
      const room = h.uniq('iso');
      const a = await h.connect(t, A, { sub: h.uniq('a') });
      const x = await h.connect(t, X, { sub: h.uniq('x') });
      await h.join(a, room);
      const jx = await h.join(x, room);
      assert.equal(jx.count, 1, 'presence is per prefix');
      assert.deepEqual(jx.history, []);
      await h.send(a, room, 'cluster 1');
      await h.send(x, room, 'cluster 2');
      const e = await h.request(A.url, 'POST', '/api/v1/emit', { body: { rooms: [room], event: 'ping1', data: {} } });
      assert.equal(e.status, 202);
      await h.waitSeen(a, 'ping1');
      await h.barrier(a, room);
      await h.barrier(x, room);
      await h.expectNoEvent(x, 'ping1', () => true, 500);
      assert.deepEqual(h.seen(a, 'new_message').map((m) => m.content), ['cluster 1']);
      assert.deepEqual(h.seen(x, 'new_message').map((m) => m.content), ['cluster 2']);
      assert.equal((await h.request(X.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count, 1);
      assert.deepEqual((await h.fullHistory(X, room)).map((m) => m.content), ['cluster 2']);
      assert.deepEqual((await h.fullHistory(B, room)).map((m) => m.content), ['cluster 1']);
    });

    test('namespaces stay separate across nodes: /chat room is not / room', async (t) => {
      const room = h.uniq('ns');
      const a = await h.connect(t, A, { sub: h.uniq('a'), nsp: '/chat' });
      const b = await h.connect(t, B, { sub: h.uniq('b'), nsp: '/chat' });
      const c = await h.connect(t, B, { sub: h.uniq('c') });
      await h.join(a, room);
      await h.join(b, room);
      const jc = await h.join(c, room);
      assert.equal(jc.count, 1);
      const got = h.waitFor(b, 'new_message', (m) => m.content === 'chat ns');
      await h.send(a, room, 'chat ns');
      await got;
      await h.barrier(c, room);
      assert.equal(h.seen(c, 'new_message').length, 0);
      assert.equal((await h.request(A.url, 'GET', `/api/v1/rooms/${room}/users?namespace=/chat`)).body.count, 2);
      assert.equal((await h.request(B.url, 'GET', `/api/v1/rooms/${room}/messages?namespace=/`)).body.messages.length, 0);
    });
  });
}

// PROTOCOL.md, Fine print: "Rate limits are per user on each node". With a tiny limit (burst 2,
// one message per 10 s) every socket of a user on node A draws on one limiter, while the same
// user's socket on node B has its own: A's spent burst neither limits B, nor is it spent by B.
// The mode does not matter to the limiter (it never goes through Redis), so this runs once,
// in the first mode of CLUSTER_MODES, on a cluster of its own started with the limits.
describe(`cluster (${MODES[0]} pub/sub): send rate limits are per user on each node`, () => {
  let cl; let A; let B;
  before(async () => {
    cl = await h.startCluster({
      nodes: 2,
      sharded: MODES[0] === 'sharded',
      nodeArgs: ['--limits.messages_per_second', '0.1', '--limits.message_burst', '2'],
    });
    [A, B] = cl.nodes;
  });
  after(async () => { if (cl) await cl.stop(); });

  test('rate limit per user per node: a user\'s burst spent on A limits their other socket on A, not their socket on B', async (t) => {
    const room = h.uniq('rl');
    const user = h.uniq('rluser');
    // Everything is connected and joined first, so the sends below follow each other within
    // milliseconds: the limit refills one message per 10 s, far above any step's duration.
    const obs = await h.connect(t, A, { sub: h.uniq('rlobs'), label: 'obs@A' });
    const onA = await h.connect(t, A, { sub: user, label: 'user@A' });
    const onA2 = await h.connect(t, A, { sub: user, transport: 'polling', label: 'user@A#2' });
    const onB = await h.connect(t, B, { sub: user, label: 'user@B' });
    for (const s of [obs, onA, onA2, onB]) await h.join(s, room);

    // on A: the burst of 2 is accepted, the 3rd is rate_limited
    const a1 = await h.send(onA, room, 'A1');
    const a2 = await h.send(onA, room, 'A2');
    h.assertFail(await h.emitAck(onA, 'send_message', { roomId: room, content: 'A3' }), 'rate_limited', '3rd send on A');
    // the same user's other socket on A shares that limit
    h.assertFail(await h.emitAck(onA2, 'send_message', { roomId: room, content: 'A2#1' }), 'rate_limited',
      'first send of the user\'s second socket on A (the user\'s limit on A is spent)');
    // on B the same user has a limiter of their own: a full burst, then rate_limited
    const b1 = await h.send(onB, room, 'B1');
    const b2 = await h.send(onB, room, 'B2');
    h.assertFail(await h.emitAck(onB, 'send_message', { roomId: room, content: 'B3' }), 'rate_limited', '3rd send on B');

    // the observer on A gets each accepted message once (B's across nodes), none of the refused
    const accepted = [a1, a2, b1, b2].map((r) => r.message);
    await h.waitUntil(() => h.seen(obs, 'new_message').length >= 4, { ms: 10000, what: '4 messages at obs@A' });
    await h.barrier(obs, room);
    await h.expectNoEvent(obs, 'new_message', () => true, 500);
    assert.deepEqual(h.seen(obs, 'new_message'), accepted, 'obs@A got the 4 accepted messages, once each, in order');
    assert.deepEqual((await h.fullHistory(B, room)).map((m) => m.content), ['A1', 'A2', 'B1', 'B2'], 'only the accepted messages are stored');
  });
});
