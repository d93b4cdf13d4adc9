'use strict';
// Senders for the fault tests: each loops send_message with a unique messageId and an ack,
// retrying the SAME messageId until it gets a success, and records every outcome.

const h = require('./cluster');

/**
 * A simple sender (no client-side retries option): one message at a time, each answered or
 * timed out; no resend. Records outcomes by messageId. Used where every reply must be final.
 */
function plainSender(socket, roomId, { prefix, ackMs = 15000, gapMs = 20 } = {}) {
  const s = {
    socket, prefix, results: [], running: true,
    counts: { sent: 0, success: 0, internal: 0, other: 0, noReply: 0 },
  };
  s.done = (async () => {
    for (let i = 0; s.running; i++) {
      const messageId = `${prefix}-${i}`;
      s.counts.sent += 1;
      const at = Date.now();
      let reply;
      try {
        reply = await h.emitAck(socket, 'send_message', { roomId, content: `${prefix} ${i}`, messageId }, ackMs);
      } catch {
        reply = undefined;
      }
      const rec = { messageId, at, ms: Date.now() - at, reply };
      s.results.push(rec);
      if (!reply) s.counts.noReply += 1;
      else if (reply.success === true) s.counts.success += 1;
      else if (reply.code === 'internal') s.counts.internal += 1;
      else s.counts.other += 1;
      await h.sleep(gapMs);
    }
  })();
  s.stop = async () => { s.running = false; await s.done; };
  s.successesSince = (t) => s.results.filter((r) => r.at >= t && r.reply && r.reply.success).length;
  s.internalsSince = (t) => s.results.filter((r) => r.at >= t && r.reply && r.reply.code === 'internal').length;
  return s;
}

/**
 * A resilient sender over a socket created with { reconnection: true, retries, ackTimeout }:
 * it (re)joins roomId on every connect and sends messages one after another, each with its own
 * messageId, resending the same messageId (after a forbidden that means "not re-joined yet", an
 * internal, a rate limit, or retries exhausted) until the server acks success. Stop() lets the
 * message in flight finish.
 */
function retryingSender(socket, roomId, { prefix, gapMs = 10, maxAttempts = 200 } = {}) {
  const s = {
    socket, prefix, running: true, joined: false, connects: 0,
    acked: new Map(), // messageId -> reply
    attempts: 0, sent: 0, resends: 0, gaveUp: 0, failures: {}, inFlight: null, log: [],
  };
  let joinedWaiters = [];
  const markJoined = () => { s.joined = true; for (const w of joinedWaiters) w(); joinedWaiters = []; };
  const onConnect = () => {
    s.connects += 1;
    s.joined = false;
    socket.emit('join_room', { roomId }, (err, reply) => {
      if (!err && reply && reply.success) markJoined();
    });
  };
  socket.on('connect', onConnect);
  if (socket.connected) onConnect();
  const waitJoined = (ms) => (s.joined ? Promise.resolve() : new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    joinedWaiters.push(() => { clearTimeout(t); resolve(); });
  }));
  const sendOnce = (payload) => new Promise((resolve) => {
    socket.emit('send_message', payload, (err, reply) => resolve({ err, reply }));
  });
  s.done = (async () => {
    await waitJoined(20000);
    for (let i = 0; s.running; i++) {
      const messageId = `${prefix}-${i}`;
      const payload = { roomId, content: `${prefix} ${i}`, messageId };
      s.sent += 1;
      for (let attempt = 0; ; attempt++) {
        if (attempt >= maxAttempts) throw new Error(`${prefix}: ${messageId} not acked after ${maxAttempts} attempts; failures ${JSON.stringify(s.failures)}`);
        if (attempt > 0) s.resends += 1;
        s.attempts += 1;
        s.inFlight = messageId;
        const sentAt = Date.now();
        const { err, reply } = await sendOnce(payload);
        s.inFlight = null;
        s.log.push({ messageId, attempt, sentAt, at: Date.now(), result: err ? `error: ${err.message}` : reply && (reply.success ? 'ok' : reply.code) });
        if (!err && reply && reply.success) { s.acked.set(messageId, reply); break; }
        const why = err ? 'retries_exhausted' : (reply && reply.code) || 'no_reply';
        s.failures[why] = (s.failures[why] || 0) + 1;
        if (err) s.gaveUp += 1;
        if (why === 'forbidden') await waitJoined(20000);
        else await h.sleep(why === 'rate_limited' ? 300 : 100);
      }
      await h.sleep(gapMs);
    }
  })();
  s.stop = async () => { s.running = false; await s.done; socket.off('connect', onConnect); };
  return s;
}

/** Every stored message of the room grouped by clientMessageId: { stored, duplicates, byId }. */
function tally(history) {
  const byId = new Map();
  for (const m of history) {
    if (!m.clientMessageId) continue;
    byId.set(m.clientMessageId, (byId.get(m.clientMessageId) || []).concat([m]));
  }
  let duplicates = 0;
  for (const list of byId.values()) duplicates += list.length - 1;
  return { stored: history.length, distinct: byId.size, duplicates, byId };
}

module.exports = { plainSender, retryingSender, tally };
