'use strict';
// Test harness: starts the real iohub binary, mints tokens, connects the official
// socket.io-client packages (v4 and v2/EIO3) and offers small awaitable helpers.
//
// Every helper that waits has a timeout; nothing sleeps for a fixed time except
// expectNoEvent (a bounded quiet window, used to check that something does NOT happen).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');
const jwt = require('jsonwebtoken');
const ioV4 = require('socket.io-client');
const ioV2 = require('sio2');

const BIN = path.resolve(process.env.IOHUB_BIN || path.join(__dirname, '..', '..', '..', 'bin', 'iohub'));
const SECRET = 'e2e-secret-0123456789abcdef-0123456789';
const API_KEY = 'e2e-api-key-1';
const TIMESTAMP_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const TRANSPORTS = ['websocket', 'polling', 'upgrade'];
const CLIENTS = ['v4', 'v2'];

// Every child we start, so a crashing test file still kills them on exit.
const children = new Set();
const tmpDirs = [];
process.on('exit', () => {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
  if (!process.env.E2E_KEEP_TMP) {
    for (const d of tmpDirs) {
      try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ }
    }
  }
});

// A test file killed from outside (runner timeout, Ctrl-C) still takes its servers along.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => process.exit(1)); // runs the exit hook above
}

let uniqCounter = 0;
/** A room / user id unique within this process run, matching the roomId grammar. */
function uniq(prefix = 'r') {
  uniqCounter += 1;
  return `${prefix}-${process.pid}-${uniqCounter}-${crypto.randomBytes(3).toString('hex')}`;
}

function tmpDir(prefix = 'iohub-e2e-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

/**
 * Starts the binary. opts.args are extra flags; opts.dataDir reuses a data dir (restart tests);
 * opts.baseArgs=false drops the standard flags (CLI tests). Resolves once the "listening" line
 * is logged, with { url, port, dataDir, proc, logs, stop(), kill(), exited }.
 */
async function startServer(opts = {}) {
  const dataDir = opts.dataDir || tmpDir();
  const base = opts.baseArgs === false ? [] : [
    'serve',
    '--listen', '127.0.0.1:0',
    '--auth.jwt.secret', SECRET,
    '--store.driver', 'bolt',
    '--store.path', dataDir,
    '--log.format', 'json',
    ...(opts.apiKey === false ? [] : ['--api.keys', API_KEY]),
  ];
  const args = [...base, ...(opts.args || [])];
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('IOHUB_')) env[k] = v;
  Object.assign(env, opts.env || {});
  if (!fs.existsSync(BIN)) throw new Error(`iohub binary not found at ${BIN} (set IOHUB_BIN or build it)`);
  const proc = spawn(BIN, args, { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const logs = [];
  let stdout = '';
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => { children.delete(proc); resolve({ code, signal }); });
  });
  proc.stdout.on('data', (d) => { stdout += d; });
  const server = { proc, logs, dataDir, exited, args, get stdout() { return stdout; } };

  await new Promise((resolve, reject) => {
    let buf = '';
    let done = false;
    const timer = setTimeout(() => finish(new Error(`server did not log "listening" within 15s; stderr:\n${logs.join('\n')}`)), 15000);
    function finish(err) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) { try { proc.kill('SIGKILL'); } catch { /* gone */ } reject(err); } else resolve();
    }
    proc.stderr.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        logs.push(line);
        if (done) continue;
        let rec;
        try { rec = JSON.parse(line); } catch { continue; }
        if (rec.msg === 'listening' && typeof rec.addr === 'string') {
          const port = Number(rec.addr.slice(rec.addr.lastIndexOf(':') + 1));
          server.port = port;
          server.url = `http://127.0.0.1:${port}`;
          finish();
        }
      }
    });
    proc.on('exit', (code, signal) => finish(new Error(`server exited (${code}, ${signal}) before listening; args ${args.join(' ')}; stderr:\n${logs.join('\n')}`)));
  });

  /** SIGTERM and wait; resolves { code, signal }. Falls back to SIGKILL after ms. */
  server.sockets = new Set();
  server.stop = async (ms = 15000) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    // cleanup path: close this harness's clients first, so that a slow shutdown with clients
    // connected (checked on its own in durability.test.js) does not slow every file down
    if (server.sockets.size) {
      for (const so of server.sockets) closeSocket(so);
      server.sockets.clear();
      await sleep(50);
    }
    proc.kill('SIGTERM');
    const t = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, ms);
    const r = await exited;
    clearTimeout(t);
    return r;
  };
  server.kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return exited;
  };
  return server;
}

/** HS256 token for sub. opts: name, rooms, exp/nbf (absolute seconds), iss, aud, extra claims, secret, algorithm. */
function token(sub, opts = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { ...(opts.claims || {}) };
  if (sub !== undefined && sub !== null) claims.sub = sub;
  // name: undefined -> "Name <sub>"; null -> no name claim.
  if (opts.name === undefined) { if (sub) claims.name = `Name ${sub}`; } else if (opts.name !== null) claims.name = opts.name;
  if (opts.rooms !== undefined) claims.rooms = opts.rooms;
  claims.iat = now;
  claims.exp = opts.exp !== undefined ? opts.exp : now + 3600;
  if (opts.exp === null) delete claims.exp;
  if (opts.nbf !== undefined) claims.nbf = opts.nbf;
  if (opts.iss !== undefined) claims.iss = opts.iss;
  if (opts.aud !== undefined) claims.aud = opts.aud;
  return jwt.sign(claims, opts.secret || SECRET, { algorithm: opts.algorithm || 'HS256', noTimestamp: true });
}

/** An unsigned token (alg "none"). */
function noneToken(sub) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, name: sub, exp: now + 3600 })}.`;
}

// ---------------------------------------------------------------------------------------
// Clients

/** Attaches an event log to a socket: socket.events = [{ event, args }] of every server event. */
function record(socket, client) {
  socket.events = [];
  if (client === 'v2') {
    const orig = socket.onevent;
    socket.onevent = function onevent(packet) {
      const data = (packet.data || []).slice();
      socket.events.push({ event: data[0], args: data.slice(1) });
      return orig.call(this, packet);
    };
  } else {
    socket.onAny((event, ...args) => socket.events.push({ event, args }));
  }
  return socket;
}

function clientOptions(opts) {
  const transport = opts.transport || 'websocket';
  const o = { forceNew: true, reconnection: false, timeout: 20000 };
  if (transport === 'websocket') o.transports = ['websocket'];
  else if (transport === 'polling') { o.transports = ['polling']; o.upgrade = false; }
  else if (transport === 'upgrade') o.transports = ['polling', 'websocket'];
  else throw new Error(`unknown transport ${transport}`);
  if (opts.headers) o.extraHeaders = opts.headers;
  if (opts.query) o.query = opts.query;
  if (opts.auth !== undefined) o.auth = opts.auth;
  if (opts.retries !== undefined) o.retries = opts.retries;
  if (opts.ackTimeout !== undefined) o.ackTimeout = opts.ackTimeout;
  if (opts.reconnection) Object.assign(o, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
  return o;
}

/**
 * Creates (does not wait for) a client socket. opts: client 'v4'|'v2', transport, nsp,
 * token/sub/name/rooms (token goes to auth for v4 and to the query for v2 unless opts.place
 * says 'auth'|'header'|'query'|'none'), auth, headers, query.
 */
function makeSocket(server, opts = {}) {
  const client = opts.client || 'v4';
  const nsp = opts.nsp || '/';
  let tok = opts.token;
  if (tok === undefined && opts.sub) tok = token(opts.sub, { name: opts.name, rooms: opts.rooms });
  const place = opts.place || (client === 'v2' ? 'query' : 'auth');
  const o = { ...opts };
  if (tok !== undefined && tok !== null) {
    if (place === 'auth') o.auth = { ...(opts.auth || {}), token: tok };
    else if (place === 'header') o.headers = { ...(opts.headers || {}), Authorization: `Bearer ${tok}` };
    else if (place === 'query') o.query = { ...(opts.query || {}), token: tok };
  }
  const url = server.url + (nsp === '/' ? '/' : nsp);
  const socket = client === 'v2' ? ioV2(url, clientOptions(o)) : ioV4(url, clientOptions(o));
  socket.client = client;
  if (server.sockets) server.sockets.add(socket);
  socket.on('disconnect', (reason) => { socket.lastDisconnect = { reason, at: new Date().toISOString() }; });
  record(socket, client);
  return socket;
}

function closeSocket(s) {
  try {
    if (s.client === 'v2') s.close(); else s.disconnect();
    if (s.io && s.io.engine) s.io.engine.close();
  } catch { /* ignore */ }
}

/**
 * Connects and resolves with the connected socket; rejects with the connect error.
 * When t (a node:test context) is given the socket is closed after the test.
 */
async function connect(t, server, opts = {}) {
  const socket = makeSocket(server, opts);
  if (t) t.after(() => closeSocket(socket));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); const eng = socket.io && socket.io.engine;
      reject(new Error(`connect timeout after 20s (${JSON.stringify({
        client: socket.client, transport: opts.transport, nsp: opts.nsp,
        managerState: socket.io && socket.io._readyState, engineState: eng && eng.readyState,
        engineTransport: eng && eng.transport && eng.transport.name, engineId: eng && eng.id,
      })})`)); }, 20000);
    function cleanup() {
      clearTimeout(timer);
      socket.off('connect', onConnect); socket.off('connect_error', onErr); socket.off('error', onErr);
    }
    function onConnect() { cleanup(); resolve(); }
    function onErr(e) { cleanup(); closeSocket(socket); reject(Object.assign(new Error(`connect failed: ${e && e.message ? e.message : JSON.stringify(e)}`), { cause: e })); }
    socket.on('connect', onConnect);
    socket.on('connect_error', onErr);
    if (socket.client === 'v2') socket.on('error', onErr);
  });
  if (opts.transport === 'upgrade') await waitUpgraded(socket);
  return socket;
}

/** Waits until the engine runs on websocket (the polling -> websocket upgrade happened). */
async function waitUpgraded(socket, ms = 10000) {
  const engine = socket.io.engine;
  if (engine.transport && engine.transport.name === 'websocket') return;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('transport was not upgraded to websocket')), ms);
    engine.once('upgrade', () => { clearTimeout(timer); resolve(); });
  });
  assert.equal(engine.transport.name, 'websocket');
}

/**
 * Connects expecting a refusal. Resolves with { message, data } for v4 (connect_error) and
 * { data } for v2 (the "error" event); rejects if the socket connects.
 */
async function connectError(server, opts = {}) {
  const socket = makeSocket(server, opts);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const eng = socket.io && socket.io.engine;
        reject(new Error(`neither connect nor refusal within 20s (${JSON.stringify({
          client: socket.client, transport: opts.transport, nsp: opts.nsp,
          engineState: eng && eng.readyState, engineTransport: eng && eng.transport && eng.transport.name, engineId: eng && eng.id,
        })})`));
      }, 20000);
      socket.on('connect', () => { clearTimeout(timer); reject(new Error('connected although a refusal was expected')); });
      socket.on('connect_error', (e) => { clearTimeout(timer); resolve({ message: e.message, data: e.data, raw: e }); });
      if (socket.client === 'v2') socket.on('error', (d) => { clearTimeout(timer); resolve({ data: d }); });
    });
  } finally {
    closeSocket(socket);
  }
}

/** Resolves with the first args array (or first arg when single) of event matching pred. */
function waitFor(socket, event, pred = () => true, ms = 5000) {
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`timeout after ${ms}ms waiting for "${event}" on ${socket.id || 'socket'}`
        + ` (${socket.connected ? 'connected' : 'disconnected'}; last disconnect: ${JSON.stringify(socket.lastDisconnect || null)});`
        + ` got: ${JSON.stringify(socket.events.filter((e) => e.event === event).slice(-5))}`));
    }, ms);
    function handler(...args) {
      let ok;
      try { ok = pred(...args); } catch { ok = false; }
      if (!ok) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(args.length <= 1 ? args[0] : args);
    }
    socket.on(event, handler);
  });
  p.catch(() => {}); // avoid unhandled rejections when a test fails before awaiting it
  return p;
}

/** Emits with an ack callback; resolves with the (first) ack argument (10 s timeout; generous for a loaded 2-core machine). */
function emitAck(socket, event, ...args) {
  let ms = 10000;
  if (args.length && args[args.length - 1] && typeof args[args.length - 1] === 'object' && args[args.length - 1].__timeout) {
    ms = args.pop().__timeout;
  }
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for "${event}" ${JSON.stringify(args).slice(0, 200)} within ${ms}ms`
      + ` (socket ${socket.connected ? 'connected' : 'disconnected'}; last disconnect: ${JSON.stringify(socket.lastDisconnect || null)})`)), ms);
    socket.emit(event, ...args, (...reply) => { clearTimeout(timer); resolve(reply[0]); });
  });
  p.catch(() => {});
  return p;
}
const timeout = (ms) => ({ __timeout: ms });

/** Asserts that no event (matching pred) arrives within ms. Returns nothing. */
async function expectNoEvent(socket, event, ms = 600, pred = () => true) {
  const seen = [];
  const handler = (...args) => { if (pred(...args)) seen.push(args); };
  socket.on(event, handler);
  await new Promise((r) => setTimeout(r, ms));
  socket.off(event, handler);
  assert.deepEqual(seen, [], `expected no "${event}" within ${ms}ms on socket ${socket.id}`);
}

/** Starts counting events named event: returns a live array of payloads (first arg). */
function collect(socket, event, pred = () => true) {
  const arr = [];
  socket.on(event, (...args) => { if (pred(...args)) arr.push(args[0]); });
  return arr;
}

/** Events logged since mark (an index into socket.events). */
function eventsSince(socket, mark) { return socket.events.slice(mark); }

/** join_room with ack, asserting success. */
async function join(socket, roomId, extra = {}) {
  const reply = await emitAck(socket, 'join_room', Object.keys(extra).length ? { roomId, ...extra } : { roomId });
  assert.equal(reply && reply.success, true, `join_room ${roomId} failed: ${JSON.stringify(reply)}`);
  return reply;
}

/** send_message with ack, asserting success; resolves with the reply. */
async function send(socket, roomId, content, extra = {}) {
  const reply = await emitAck(socket, 'send_message', { roomId, content, ...extra });
  assert.equal(reply && reply.success, true, `send_message failed: ${JSON.stringify(reply)}`);
  return reply;
}

/**
 * Round trip on socket: a fetch_history ack. Because the server writes to one socket in
 * order, every event queued for this socket before the call has arrived when it resolves.
 */
async function barrier(socket, roomId) {
  const r = await emitAck(socket, 'fetch_history', { roomId, limit: 1 });
  assert.equal(r && r.success, true, `barrier fetch_history failed: ${JSON.stringify(r)}`);
}

/** HTTP request against the server. body objects are sent as JSON. key: API key (false = none). */
async function http(server, method, urlPath, { body, key = API_KEY, headers = {} } = {}) {
  const h = { ...headers };
  if (key) h.Authorization = `Bearer ${key}`;
  let b;
  if (body !== undefined) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) b = body;
    else { b = JSON.stringify(body); h['Content-Type'] = 'application/json'; }
  }
  const res = await fetch(server.url + urlPath, { method, headers: h, body: b, signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, body: json };
}

/** Asserts a failure reply { success:false, code, error:string }. */
function assertFail(reply, code, what = '') {
  assert.ok(reply && typeof reply === 'object', `${what}: reply is not an object: ${JSON.stringify(reply)}`);
  assert.equal(reply.success, false, `${what}: expected success:false, got ${JSON.stringify(reply)}`);
  assert.equal(reply.code, code, `${what}: expected code ${code}, got ${JSON.stringify(reply)}`);
  assert.equal(typeof reply.error, 'string', `${what}: error must be a human-readable string: ${JSON.stringify(reply)}`);
  assert.ok(reply.error.length > 0, `${what}: error must not be empty`);
}

/** Asserts the Message shape of PROTOCOL.md. */
function assertMessage(m, expect = {}) {
  assert.ok(m && typeof m === 'object', `message is not an object: ${JSON.stringify(m)}`);
  assert.deepEqual(Object.keys(m).sort(), ['clientMessageId', 'content', 'id', 'replyTo', 'roomId', 'timestamp', 'userId', 'userName'],
    `message keys: ${JSON.stringify(m)}`);
  assert.equal(typeof m.id, 'string');
  assert.ok(m.id.length > 0);
  assert.match(m.timestamp, TIMESTAMP_RE);
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(m[k], v, `message.${k}`);
}

/**
 * Lets a receiver go idle before a volatile event (user_typing) is sent to it: volatile
 * packets are dropped when the receiver's transport is not writable at that instant (a
 * polling client between two GETs), as in Node. A round trip plus a short pause puts it back
 * in its idle state (websocket open, or a GET pending).
 */
async function settle(socket, roomId) {
  await barrier(socket, roomId);
  await sleep(150);
}

/** Byte-wise string comparison (PROTOCOL: ids sort by plain byte-wise comparison). */
function byteCmp(a, b) { return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')); }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = {
  BIN, SECRET, API_KEY, TIMESTAMP_RE, TRANSPORTS, CLIENTS,
  startServer, token, noneToken, uniq, tmpDir,
  makeSocket, connect, connectError, closeSocket, waitUpgraded,
  waitFor, emitAck, timeout, expectNoEvent, collect, eventsSince,
  join, send, barrier, settle, http, assertFail, assertMessage, byteCmp, sleep,
};
