'use strict';
// Fault test: Redis crashes (SIGKILL) and comes back on the same port while two nodes carry
// traffic. While it is down: sockets stay connected, local delivery (typing between sockets
// of one node) keeps working, /readyz is 503 with the reason, sends that cannot be stored are
// answered `internal` (never a false success), the HTTP API answers 500 internal. After it is
// back: /readyz 200, sends succeed and cross nodes again, by themselves. Afterwards every
// acked message is in history exactly once.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/cluster');
const { plainSender, tally } = require('./lib/traffic');

const MODE = process.env.CLUSTER_FAULT_MODE || 'classic';

test(`Redis restart mid-traffic (${MODE}): local sockets keep working, unstorable sends are answered internal, everything resumes by itself`, async (t) => {
  const cl = await h.startCluster({ nodes: 2, sharded: MODE === 'sharded' });
  const defer = h.deferrer(t);
  defer(() => cl.stop());
  const [A, B] = cl.nodes;
  const room = h.uniq('rf');

  const a1 = await h.connect(t, A, { sub: h.uniq('a1') });
  const a2 = await h.connect(t, A, { sub: h.uniq('a2'), transport: 'polling' });
  const b1 = await h.connect(t, B, { sub: h.uniq('b1'), transport: 'polling' });
  for (const s of [a1, a2, b1]) await h.join(s, room);
  const disconnects = [];
  for (const s of [a1, a2, b1]) s.on('disconnect', (why) => disconnects.push(`${s.label}: ${why}`));
  const crossAtB = h.seen.bind(null, b1, 'new_message');

  const senders = [
    plainSender(a1, room, { prefix: 'sa', gapMs: 60 }),
    plainSender(b1, room, { prefix: 'sb', gapMs: 60 }),
  ];
  defer(() => Promise.all(senders.map((s) => s.stop())));

  // 1. healthy traffic, crossing nodes
  await h.waitUntil(() => senders.every((s) => s.counts.success >= 10), { ms: 20000, what: '10 acked sends per sender before the fault' });
  await h.waitUntil(() => crossAtB((m) => m.clientMessageId && m.clientMessageId.startsWith('sa-')).length >= 5, { ms: 10000, what: 'A\'s messages at B' });

  // 2. Redis dies
  const downAt = Date.now();
  await cl.redis.kill();
  defer(async () => { if (!cl.redis.alive()) await cl.redis.restart().catch(() => {}); });

  const phase = (what) => t.diagnostic(`${Date.now() - downAt} ms after the kill: ${what}`);
  const ready503 = {};
  for (const n of [A, B]) {
    const r = await h.waitUntil(async () => {
      const res = await h.request(n.url, 'GET', '/readyz', { key: false, ms: 5000 });
      return res.status === 503 ? res : null;
    }, { ms: 15000, what: `/readyz 503 on ${n.name}` });
    assert.equal(r.body.status, 'unavailable', r.text);
    assert.ok(r.body.failed && Object.keys(r.body.failed).length > 0, `503 names what failed: ${r.text}`);
    for (const [k, v] of Object.entries(r.body.failed)) assert.ok(typeof v === 'string' && v.length > 0, `reason for ${k}: ${r.text}`);
    ready503[n.name] = r.body.failed;
  }
  t.diagnostic(`/readyz while Redis is down: ${JSON.stringify(ready503)}`);
  phase('readyz 503 on both');

  await h.waitUntil(() => senders.every((s) => s.internalsSince(downAt) >= 2), { ms: 30000, what: 'sends answered internal on both nodes while Redis is down' });
  for (const s of senders) {
    const bad = s.results.filter((r) => r.at >= downAt && r.reply && r.reply.success === false && r.reply.code !== 'internal');
    assert.deepEqual(bad.map((r) => r.reply), [], `${s.prefix}: only internal while Redis is down`);
    for (const r of s.results.filter((x) => x.reply && x.reply.code === 'internal')) assert.equal(typeof r.reply.error, 'string');
  }

  phase('internal replies seen on both');
  // the HTTP API cannot store either: 500 internal, not 201
  const post = await h.request(A.url, 'POST', `/api/v1/rooms/${room}/messages`, { body: { content: 'while down' } });
  assert.equal(post.status, 500, `POST message while Redis is down: ${post.status} ${post.text}`);
  assert.equal(post.body && post.body.code, 'internal');

  // local sockets keep working: typing between two sockets of node A
  // (a local round trip: an unknown event is answered by the node itself, no Redis involved)
  assert.equal((await h.emitAck(a1, 'no_such_event', {}, 5000)).code, 'unknown_event');
  const typingAtA1 = h.waitFor(a1, 'user_typing', (e) => e.userId === a2.label && e.typing === true, 5000);
  const tr = await h.emitAck(a2, 'typing_start', room, 5000);
  assert.equal(tr.success, true, `typing while Redis is down: ${JSON.stringify(tr)}`);
  await typingAtA1;
  assert.ok(a1.connected && a2.connected && b1.connected, `sockets stay connected: ${disconnects}`);

  phase('local typing delivered');
  // 3. Redis comes back on the same port; nobody restarts the nodes
  const downMs = Date.now() - downAt;
  const upAt = Date.now();
  await cl.redis.restart();
  for (const n of [A, B]) {
    await h.waitUntil(async () => (await h.request(n.url, 'GET', '/readyz', { key: false, ms: 5000 })).status === 200, { ms: 30000, what: `/readyz 200 on ${n.name} after Redis is back` });
  }
  const readyMs = Date.now() - upAt;
  await h.waitUntil(() => senders.every((s) => s.successesSince(upAt) >= 5), { ms: 30000, what: 'acked sends on both nodes after Redis is back' });
  const resumedMs = Date.now() - upAt;
  phase('sends acked again');

  // cross-node delivery is back (subscriptions restored) in both directions; checked with
  // the counts below, so a failure still reports everything
  const toB = h.waitFor(b1, 'new_message', (m) => m.content === 'after restart A', 10000);
  const toA = h.waitFor(a1, 'new_message', (m) => m.content === 'after restart B', 10000);
  const afterA = await h.send(a2, room, 'after restart A');
  const afterB = await h.send(b1, room, 'after restart B');
  const crossBack = await Promise.allSettled([toB, toA]);
  phase('probe messages sent after the restart');
  // presence survived the restart
  await h.waitUntil(async () => (await h.request(B.url, 'GET', `/api/v1/rooms/${room}/users`)).body.count === 3, { ms: 15000, what: 'room users count 3 after the restart' });

  phase('presence count back');
  await Promise.all(senders.map((s) => s.stop()));
  phase('senders stopped');
  assert.deepEqual(disconnects, [], 'no socket was disconnected by the Redis outage');

  // 4. every success is stored exactly once and delivered on the other node; no send went
  // unanswered. Counts are printed first, then asserted.
  const hist = await h.fullHistory(A, room);
  const { byId, duplicates } = tally(hist);
  await h.barrier(a1, room);
  await h.barrier(b1, room);
  const deliveredAt = (sock) => new Set(h.seen(sock, 'new_message').map((m) => m.id));
  const delivered = { sa: deliveredAt(b1), sb: deliveredAt(a1) };
  const report = {};
  const problems = [];
  const lost = [];
  for (const s of senders) {
    const acked = s.results.filter((r) => r.reply && r.reply.success);
    const internals = s.results.filter((r) => r.reply && r.reply.code === 'internal');
    report[s.prefix] = {
      ...s.counts,
      slowestInternalMs: Math.max(0, ...internals.map((r) => r.ms)),
      stored: s.results.filter((r) => byId.has(r.messageId)).length,
      internalButStored: internals.filter((r) => byId.has(r.messageId)).length,
    };
    for (const r of acked) {
      const list = byId.get(r.messageId);
      if (!list) problems.push(`${r.messageId} acked but not stored (false success)`);
      else if (list[0].id !== r.reply.savedId) problems.push(`${r.messageId}: stored id ${list[0].id} != acked ${r.reply.savedId}`);
      if (!delivered[s.prefix].has(r.reply.savedId)) lost.push(`${r.messageId} (sent ${r.at - upAt} ms after the restart, acked ${r.at + r.ms - upAt} ms) never reached the other node`);
    }
    for (const r of s.results.filter((x) => !x.reply)) problems.push(`${r.messageId}: no reply within 15 s`);
  }
  if (!delivered.sa.has(afterA.savedId)) lost.push('probe "after restart A" (acked) never reached b1');
  if (!delivered.sb.has(afterB.savedId)) lost.push('probe "after restart B" (acked) never reached a1');
  const summary = `redis restart: down ${downMs} ms, readyz 200 ${readyMs} ms and sends acked again ${resumedMs} ms after restart; per sender ${JSON.stringify(report)}; duplicates ${duplicates}; acked but never delivered on the other node ${lost.length}`;
  t.diagnostic(summary);
  console.log(`# ${summary}`);
  if (lost.length) t.diagnostic(`lost cross-node deliveries: ${lost.slice(0, 12).join('; ')}`);
  assert.deepEqual(problems, [], 'every acked message stored with its id; every send answered');
  assert.equal(duplicates, 0, 'no message stored twice');
  assert.deepEqual(lost, [], 'every acked message is delivered on the other node too');
  for (const c of crossBack) assert.equal(c.status, 'fulfilled', String(c.reason));
});
