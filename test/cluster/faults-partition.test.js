'use strict';
// Fault test: one node cut off from Redis (through a TCP proxy) for longer than the presence
// node TTL while Redis itself stays up for the other node. The cut-off node's /readyz is 503 and
// its sends are answered internal; the other node drops its users from presence (user_left);
// when the link is back the cut-off node's still-connected users are present again (count
// restored, user_joined and room_users announced) and messages cross nodes again, all by themselves.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/cluster');

const BOUND_MS = Number(process.env.PRESENCE_DROP_BOUND_MS || 90000);

test('a node cut off from Redis longer than the presence TTL: its users are dropped, then come back by themselves', async (t) => {
  const defer = h.deferrer(t);
  const redis = await h.startRedis();
  defer(() => redis.stop());
  const proxy = await h.startProxy(redis.port);
  defer(() => proxy.close());
  const prefix = h.uniq('iohubpart');
  const A = await h.startNode(redis, { name: 'A', prefix });
  defer(() => A.stop());
  const B = await h.startNode({ url: proxy.url }, { name: 'B', prefix });
  defer(() => B.stop());
  defer(() => h.closeClientsAndDrain([A, B]));

  const room = h.uniq('part');
  const obs = await h.connect(t, A, { sub: h.uniq('obs') });
  await h.join(obs, room);
  const victimId = h.uniq('victim');
  const victim = await h.connect(t, B, { sub: victimId, transport: 'polling' });
  const peer = await h.connect(t, B, { sub: h.uniq('peer') });
  const joined = h.waitFor(obs, 'user_joined', (e) => e.userId === victimId);
  await h.join(victim, room);
  await joined;
  await h.join(peer, room);
  await h.waitUntil(async () => (await h.request(A.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count === 3, { what: 'count 3' });

  // cut B off Redis
  const mark = obs.events.length;
  const cutAt = Date.now();
  proxy.cut();
  const r503 = await h.waitUntil(async () => {
    const r = await h.request(B.url, 'GET', '/readyz', { key: false, ms: 5000 });
    return r.status === 503 ? r : null;
  }, { ms: 15000, what: '/readyz 503 on the cut-off node' });
  t.diagnostic(`/readyz on the cut-off node: ${r503.text}`);
  assert.equal((await h.request(A.url, 'GET', '/readyz', { key: false })).status, 200, 'the other node stays ready');
  const r = await h.emitAck(victim, 'send_message', { roomId: room, content: 'while cut off', messageId: 'cut-1' }, 15000);
  h.assertFail(r, 'internal', 'send on the cut-off node');

  // A drops B's users
  const left = await h.waitSeen(obs, 'user_left', (e) => e.userId === victimId, { mark, ms: BOUND_MS });
  const dropMs = Date.now() - cutAt;
  assert.deepEqual(left, { roomId: room, userId: victimId, userName: `Name ${victimId}` });
  await h.waitUntil(async () => (await h.request(A.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count === 1, { what: 'count 1 on A after the drop' });
  assert.ok(victim.connected && peer.connected, 'the cut-off node keeps its sockets');

  // the link comes back
  const mark2 = obs.events.length;
  const restoreAt = Date.now();
  proxy.restore();
  await h.waitUntil(async () => (await h.request(B.url, 'GET', '/readyz', { key: false, ms: 5000 })).status === 200, { ms: 30000, what: '/readyz 200 on B after the link is back' });
  const readyMs = Date.now() - restoreAt;
  let backMs = null;
  try {
    await h.waitUntil(async () => (await h.request(A.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count === 3, { ms: 30000, what: 'B\'s users present again (count 3 via A)' });
    backMs = Date.now() - restoreAt;
  } catch (e) {
    t.diagnostic(e.message);
  }
  // told that they are back: user_joined for the victim and room_users with count 3 (bounded)
  await h.waitUntil(() => h.seen(obs, 'user_joined', (e) => e.userId === victimId, mark2).length
    && h.seen(obs, 'room_users', (e) => e.count === 3, mark2).length, { ms: 10000, what: 'user_joined and room_users after the return' }).catch(() => {});
  const rejoinedEv = h.seen(obs, 'user_joined', (e) => e.userId === victimId, mark2).length;
  const listEv = h.seen(obs, 'room_users', (e) => e.count === 3, mark2).length;
  const listAt = obs.events.slice(mark2).find((e) => e.event === 'room_users' && e.args[0].count === 3);

  // messages cross again: probe every 300 ms until one is delivered on A (bounded); acked
  // probes that never arrive are lost broadcasts
  const probes = [];
  let firstCrossMs = null;
  for (let i = 0; Date.now() - restoreAt < 30000; i++) {
    const got = h.waitFor(obs, 'new_message', (m) => m.content === `back ${i}`, 1000);
    const reply = await h.emitAck(victim, 'send_message', { roomId: room, content: `back ${i}` }, 15000);
    const delivered = await got.then(() => true, () => false);
    probes.push({ i, ok: !!(reply && reply.success), delivered, at: Date.now() - restoreAt });
    if (delivered) { firstCrossMs = Date.now() - restoreAt; break; }
    await h.sleep(300);
  }
  await h.barrier(obs, room);
  const lostProbes = probes.filter((p) => p.ok && !h.seen(obs, 'new_message', (m) => m.content === `back ${p.i}`).length);
  const crossed = firstCrossMs !== null;
  const summary = `node cut off from Redis: user_left on the other node ${dropMs} ms after the cut; link back: /readyz 200 after ${readyMs} ms, users present again after ${backMs === null ? 'NEVER (30 s bound)' : `${backMs} ms`}; within 10 s of the return the observer got user_joined x${rejoinedEv}, room_users(count 3) x${listEv}${listAt ? ` (first ${listAt.at - restoreAt} ms after the return)` : ''}; first message delivered across ${firstCrossMs} ms after the return; acked probes never delivered across: ${lostProbes.length} of ${probes.length}`;
  t.diagnostic(summary);
  console.log(`# ${summary}`);
  assert.notEqual(backMs, null, 'the cut-off node\'s users are present again once its link is back');
  assert.ok(crossed, 'messages from the returned node reach the other node again');
  assert.deepEqual(lostProbes, [], 'no acked message is lost on its way to the other node');
  assert.ok(rejoinedEv >= 1, 'the other node is told the victim is back with user_joined, after having been told user_left');
  assert.ok(listEv >= 1, 'and gets room_users with the restored count');
});
