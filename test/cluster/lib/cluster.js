'use strict';
// Cluster test harness: a real redis-server, real iohub nodes (the built binary) and a real
// nginx running examples/nginx/nginx.conf, all on loopback ports picked at run time, plus
// helpers around the official socket.io-client@4.
//
// Every process started here is registered and killed when the test process exits, even when
// a test fails; the fixtures' stop() functions are meant for t.after()/after() hooks. Every
// helper that waits has a bounded timeout and waits on a condition, never a fixed sleep.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const http = require('node:http');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');
const jwt = require('jsonwebtoken');
const { io } = require('socket.io-client');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.resolve(process.env.IOHUB_BIN || path.join(ROOT, 'bin', 'iohub'));
const NGINX_CONF = path.join(ROOT, 'examples', 'nginx', 'nginx.conf');
const REDIS_BIN = process.env.REDIS_SERVER || 'redis-server';
const NGINX_BIN = process.env.NGINX_BIN || (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');
const SECRET = 'cluster-secret-0123456789abcdef-0123456789';
const API_KEY = 'cluster-api-key-1';
const TIMESTAMP_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(130));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let uniqCounter = 0;
/** An id unique within this run that matches the roomId grammar. */
function uniq(prefix = 'r') {
  uniqCounter += 1;
  return `${prefix}-${process.pid}-${uniqCounter}-${crypto.randomBytes(3).toString('hex')}`;
}

function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A currently free loopback TCP port (bound and released; fine for tests). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls cond() (sync or async) every interval ms until it returns truthy; rejects after ms. */
async function waitUntil(cond, { ms = 10000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) {
      throw new Error(`timeout after ${ms}ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await sleep(interval);
  }
}

function tcpOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const c = net.connect({ port, host });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

/** Spawns a child, collects its stderr/stdout lines, registers it for kill-on-exit. */
function spawnChild(cmd, args, opts = {}) {
  const { tmpDir: _ignored, logName: _ignored2, ...spawnOpts } = opts;
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts });
  children.add(proc);
  const lines = [];
  const listeners = new Set();
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => { children.delete(proc); resolve({ code, signal }); });
  });
  proc.on('error', (e) => lines.push(`spawn error: ${e.message}`));
  for (const stream of [proc.stdout, proc.stderr]) {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        for (const l of listeners) l(line);
      }
    });
  }
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    proc,
    lines,
    exited,
    alive,
    onLine(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    async kill(signal = 'SIGKILL') {
      if (alive()) proc.kill(signal);
      return exited;
    },
    /** SIGTERM, then SIGKILL after ms; then removes opts.tmpDir (if given). */
    async stop(ms = 10000) {
      let r;
      if (!alive()) r = await exited;
      else {
        proc.kill('SIGTERM');
        const t = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, ms);
        r = await exited;
        clearTimeout(t);
      }
      if (process.env.CLUSTER_LOG_DIR && opts.logName) {
        fs.mkdirSync(process.env.CLUSTER_LOG_DIR, { recursive: true });
        fs.writeFileSync(path.join(process.env.CLUSTER_LOG_DIR, `${opts.logName}-${proc.pid}.log`), lines.join('\n') + '\n');
      }
      if (opts.tmpDir && !process.env.CLUSTER_KEEP_TMP) fs.rmSync(opts.tmpDir, { recursive: true, force: true });
      return r;
    },
  };
}

// ---------------------------------------------------------------------------------------
// redis-server

/**
 * Starts redis-server on a free loopback port (or opts.port) with AOF persistence
 * (appendfsync always, so a SIGKILL loses nothing Redis acknowledged) in its own dir.
 * Returns { port, url, dir, stop(), kill(), restart(), ping() }.
 */
async function startRedis(opts = {}) {
  const dir = opts.dir || tmpDir('iohub-cluster-redis-');
  const port = opts.port || await freePort();
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'yes', '--appendfsync', 'always',
    '--daemonize', 'no', '--protected-mode', 'no', '--logfile', '',
  ];
  const child = spawnChild(REDIS_BIN, args, { cwd: dir, tmpDir: dir, logName: 'redis' });
  await waitUntil(async () => {
    if (!child.alive()) throw new Error(`redis-server exited: ${child.lines.slice(-5).join('\n')}`);
    return (await redisCmd(port, ['PING'])) === 'PONG';
  }, { ms: 10000, what: `redis-server on ${port}` }).catch((e) => { child.kill(); throw e; });
  const r = {
    port, dir, child,
    url: `redis://127.0.0.1:${port}/0`,
    alive: () => child.alive(),
    stop: () => child.stop(),
    kill: () => child.kill('SIGKILL'),
    cmd: (argv) => redisCmd(port, argv),
  };
  /** Starts a fresh redis-server process on the same port and dir (after stop/kill). */
  r.restart = async () => {
    const again = await startRedis({ port, dir });
    Object.assign(r, { child: again.child, alive: again.alive, stop: again.stop, kill: again.kill });
    return r;
  };
  return r;
}

/** One RESP command on a fresh connection; resolves with a simple parsed reply (string/int/array/null). */
function redisCmd(port, argv, ms = 2000) {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { c.destroy(); reject(new Error('redis command timeout')); }, ms);
    const done = (err, v) => { clearTimeout(timer); c.destroy(); if (err) reject(err); else resolve(v); };
    c.once('error', (e) => done(e));
    c.on('connect', () => {
      let s = `*${argv.length}\r\n`;
      for (const a of argv) s += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
      c.write(s);
    });
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parseResp(buf, 0);
      if (r) done(r.value instanceof Error ? r.value : null, r.value);
    });
  });
}

function parseResp(buf, off) {
  const nl = buf.indexOf('\r\n', off);
  if (nl < 0) return null;
  const t = String.fromCharCode(buf[off]);
  const line = buf.toString('utf8', off + 1, nl);
  const next = nl + 2;
  if (t === '+') return { value: line, end: next };
  if (t === '-') return { value: new Error(line), end: next };
  if (t === ':') return { value: Number(line), end: next };
  if (t === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, end: next };
    if (buf.length < next + n + 2) return null;
    return { value: buf.toString('utf8', next, next + n), end: next + n + 2 };
  }
  if (t === '*') {
    const n = Number(line);
    if (n < 0) return { value: null, end: next };
    const arr = [];
    let p = next;
    for (let i = 0; i < n; i++) {
      const r = parseResp(buf, p);
      if (!r) return null;
      arr.push(r.value);
      p = r.end;
    }
    return { value: arr, end: p };
  }
  return { value: new Error(`unparsed RESP ${t}`), end: next };
}

/**
 * A TCP proxy to 127.0.0.1:targetPort on a free port, to cut one node off Redis while the
 * others keep it: cut() drops every connection and refuses new ones (accepts and closes them
 * at once), restore() lets them through again. Returns { port, url, cut(), restore(), close() }.
 */
async function startProxy(targetPort) {
  const conns = new Set();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) { client.destroy(); return; }
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1' });
    const pair = { client, upstream };
    conns.add(pair);
    const end = () => { client.destroy(); upstream.destroy(); conns.delete(pair); };
    client.on('error', end); upstream.on('error', end);
    client.on('close', end); upstream.on('close', end);
    client.pipe(upstream); upstream.pipe(client);
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    cut() { open = false; for (const c of [...conns]) { c.client.destroy(); c.upstream.destroy(); } conns.clear(); },
    restore() { open = true; },
    close() { this.cut(); return new Promise((r) => server.close(() => r())); },
  };
}

// ---------------------------------------------------------------------------------------
// iohub nodes

/**
 * Starts one iohub node in cluster mode against redis. opts: prefix (redis.key_prefix),
 * sharded, args (extra flags), env, name (for messages). Resolves once it logs "listening"
 * with { name, port, url, proc, lines, stop(), kill(), exited, alive() }.
 */
async function startNode(redis, opts = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`iohub binary not found at ${BIN} (go build -o bin/iohub ./cmd/iohub, or set IOHUB_BIN)`);
  const dir = tmpDir('iohub-cluster-node-');
  const args = [
    'serve',
    '--listen', opts.listen || '127.0.0.1:0',
    '--auth.jwt.secret', SECRET,
    '--api.keys', API_KEY,
    '--log.format', 'json',
    '--redis.url', redis.url,
    ...(opts.prefix ? ['--redis.key_prefix', opts.prefix] : []),
    ...(opts.sharded ? ['--redis.sharded'] : []),
    ...(opts.args || []),
  ];
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('IOHUB_')) env[k] = v;
  Object.assign(env, opts.env || {});
  const child = spawnChild(BIN, args, { cwd: dir, env, tmpDir: dir, logName: `iohub-${opts.name || 'node'}` });
  const node = { ...child, name: opts.name || 'node', dir, args, redis };
  await new Promise((resolve, reject) => {
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off();
      if (err) { child.kill(); reject(err); } else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`${node.name} did not log "listening" within 15s; args ${args.join(' ')}; log:\n${child.lines.join('\n')}`)), 15000);
    const check = (line) => {
      let rec;
      try { rec = JSON.parse(line); } catch { return; }
      if (rec.msg === 'listening' && typeof rec.addr === 'string') {
        node.port = Number(rec.addr.slice(rec.addr.lastIndexOf(':') + 1));
        node.url = `http://127.0.0.1:${node.port}`;
        finish();
      }
    };
    const off = child.onLine(check);
    for (const l of child.lines) check(l);
    child.exited.then(({ code, signal }) => finish(new Error(`${node.name} exited (${code}, ${signal}) before listening; args ${args.join(' ')}; log:\n${child.lines.join('\n')}`)));
  });
  return node;
}

/** Log records (parsed JSON lines) of a node matching pred. */
function logRecords(node, pred = () => true) {
  const out = [];
  for (const l of node.lines) {
    try { const r = JSON.parse(l); if (pred(r)) out.push(r); } catch { /* not JSON */ }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// nginx

/**
 * Renders examples/nginx/nginx.conf for the given node ports: the only substitutions are the
 * placeholders 127.0.0.1:3001 / 127.0.0.1:3002 (upstream servers) and "listen 8080" (nginx's
 * own address). Anything else in the file is used exactly as shipped.
 */
function renderNginxConf(listenPort, upstreamPorts) {
  let conf = fs.readFileSync(NGINX_CONF, 'utf8');
  const placeholders = ['127.0.0.1:3001', '127.0.0.1:3002'];
  assert.equal(upstreamPorts.length, placeholders.length, 'nginx.conf has exactly two upstream placeholders');
  for (const [i, ph] of placeholders.entries()) {
    assert.ok(conf.includes(`server ${ph}`), `examples/nginx/nginx.conf lacks the placeholder "server ${ph}"`);
    conf = conf.split(ph).join(`127.0.0.1:${upstreamPorts[i]}`);
  }
  assert.ok(/listen 8080;/.test(conf), 'examples/nginx/nginx.conf lacks the placeholder "listen 8080;"');
  conf = conf.replace(/listen 8080;/, `listen 127.0.0.1:${listenPort};`);
  return conf;
}

/** Starts nginx (examples/nginx/nginx.conf) in front of the given nodes. */
async function startNginx(nodes) {
  const dir = tmpDir('iohub-cluster-nginx-');
  fs.mkdirSync(path.join(dir, 'temp'));
  fs.mkdirSync(path.join(dir, 'logs'));
  // Started as root, nginx runs its workers as "nobody": let them use the temp dirs.
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(path.join(dir, 'temp'), 0o777);
  const port = await freePort();
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, renderNginxConf(port, nodes.map((n) => n.port)));
  const child = spawnChild(NGINX_BIN, ['-p', dir, '-c', confPath, '-e', 'stderr', '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')};`], { cwd: dir, tmpDir: dir, logName: 'nginx' });
  await waitUntil(async () => {
    if (!child.alive()) throw new Error(`nginx exited: ${child.lines.join('\n')}`);
    return tcpOpen(port);
  }, { ms: 10000, what: 'nginx listening' }).catch((e) => { child.kill(); throw e; });
  return { ...child, port, url: `http://127.0.0.1:${port}`, dir, confPath };
}

// ---------------------------------------------------------------------------------------
// Tokens, HTTP

function token(sub, opts = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub, name: opts.name === undefined ? `Name ${sub}` : opts.name, iat: now, exp: now + 3600 };
  if (opts.rooms) claims.rooms = opts.rooms;
  return jwt.sign(claims, SECRET, { algorithm: 'HS256', noTimestamp: true });
}

/** Every client socket made by makeSocket and not closed yet (cluster teardown closes them). */
const openSockets = new Set();

/** Connected sockets a node reports on /metrics (iohub_connected_sockets, all namespaces). */
async function connectedSockets(node) {
  const r = await request(node.url, 'GET', '/metrics', { key: false, ms: 3000 });
  let n = 0;
  for (const line of r.text.split('\n')) {
    if (line.startsWith('iohub_connected_sockets')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

const agents = new Map();
/** A keep-alive-free http.Agent whose connections come from localAddress (for ip_hash pinning). */
function agentFor(localAddress) {
  if (!localAddress) return undefined;
  if (!agents.has(localAddress)) agents.set(localAddress, new http.Agent({ localAddress, keepAlive: false }));
  return agents.get(localAddress);
}

/**
 * HTTP request to base (a node or nginx url) via node:http (so a localAddress can be given).
 * body objects are sent as JSON. key: API key (false = none). Resolves { status, headers, text, body }.
 */
function request(base, method, urlPath, { body, key = API_KEY, headers = {}, localAddress, ms = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (key) h.Authorization = `Bearer ${key}`;
    let b;
    if (body !== undefined) {
      b = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      if (typeof body === 'object' && !Buffer.isBuffer(body)) h['Content-Type'] = 'application/json';
      h['Content-Length'] = Buffer.byteLength(b);
    }
    const u = new URL(urlPath, base);
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, localAddress, agent: false, timeout: ms }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, body: json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`HTTP ${method} ${urlPath} timed out after ${ms}ms`)));
    req.on('error', reject);
    if (b !== undefined) req.write(b);
    req.end();
  });
}

/** The whole history of a room through the HTTP API of node (oldest first). */
async function fullHistory(node, roomId, nsp = '/') {
  const all = [];
  let before;
  for (let i = 0; i < 1000; i++) {
    const q = new URLSearchParams({ namespace: nsp, limit: '200' });
    if (before) q.set('before', before);
    const r = await request(node.url, 'GET', `/api/v1/rooms/${encodeURIComponent(roomId)}/messages?${q}`);
    assert.equal(r.status, 200, `GET messages: ${r.status} ${r.text}`);
    all.unshift(...r.body.messages);
    if (!r.body.hasMore || r.body.messages.length === 0) return all;
    before = r.body.messages[0].id;
  }
  throw new Error('history pagination did not end');
}

// ---------------------------------------------------------------------------------------
// Which node does nginx pick for a source address?

/**
 * For each loopback source address 127.0.N.1 (N = 1, 2, ...), opens an Engine.IO polling
 * session through nginx from that address and asks each node directly whether it knows the
 * session (a close packet POSTed with the sid: 200 on the owner, 400 elsewhere). Returns a
 * Map node.name -> source address, one per node (throws if not found in `tries` addresses).
 */
async function pinAddresses(nginx, nodes, tries = 40) {
  const found = new Map();
  for (let n = 1; n <= tries && found.size < nodes.length; n++) {
    const addr = `127.0.${n}.1`;
    const owner = await ownerOf(nginx, nodes, addr);
    if (owner && !found.has(owner.name)) found.set(owner.name, addr);
  }
  if (found.size < nodes.length) throw new Error(`could not find source addresses for every node: ${JSON.stringify([...found])}`);
  return found;
}

/** The node nginx sends a new session from localAddress to (or null). */
async function ownerOf(nginx, nodes, localAddress) {
  const r = await request(nginx.url, 'GET', `/socket.io/?EIO=4&transport=polling&t=${Date.now()}`, { key: false, localAddress });
  assert.equal(r.status, 200, `handshake through nginx: ${r.status} ${r.text}`);
  const m = /"sid":"([^"]+)"/.exec(r.text);
  assert.ok(m, `no sid in handshake: ${r.text}`);
  for (const node of nodes) {
    if (!node.alive()) continue;
    const c = await request(node.url, 'POST', `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(m[1])}`, { key: false, body: '1', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
    if (c.status === 200) return node;
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Clients (official socket.io-client@4)

/**
 * Creates a socket (not waiting). opts: transport 'websocket'|'polling', nsp, sub/name/token,
 * localAddress (source address, for ip_hash), reconnection (default false), retries,
 * ackTimeout, reconnectionDelay.
 */
function makeSocket(base, opts = {}) {
  const transport = opts.transport || 'websocket';
  const o = { forceNew: true, reconnection: !!opts.reconnection, timeout: 20000 };
  if (transport === 'websocket') o.transports = ['websocket'];
  else if (transport === 'polling') { o.transports = ['polling']; o.upgrade = false; }
  else if (transport === 'upgrade') o.transports = ['polling', 'websocket'];
  else throw new Error(`unknown transport ${transport}`);
  const tok = opts.token || (opts.sub ? token(opts.sub, { name: opts.name }) : undefined);
  if (tok) o.auth = { token: tok };
  if (opts.localAddress) o.agent = agentFor(opts.localAddress);
  if (opts.retries !== undefined) o.retries = opts.retries;
  if (opts.ackTimeout !== undefined) o.ackTimeout = opts.ackTimeout;
  if (opts.reconnectionDelay !== undefined) o.reconnectionDelay = opts.reconnectionDelay;
  if (opts.reconnectionDelayMax !== undefined) o.reconnectionDelayMax = opts.reconnectionDelayMax;
  const nsp = opts.nsp || '/';
  const url = (typeof base === 'string' ? base : base.url) + (nsp === '/' ? '/' : nsp);
  const socket = io(url, o);
  openSockets.add(socket);
  socket.events = [];
  socket.onAny((event, ...args) => socket.events.push({ event, args, at: Date.now() }));
  socket.label = opts.label || opts.sub || 'socket';
  return socket;
}

function closeSocket(s) {
  openSockets.delete(s);
  try {
    s.disconnect();
    if (s.io && s.io.engine) s.io.engine.close();
  } catch { /* ignore */ }
}

/** Connects; closes the socket after the test when t (test context or { after }) is given. */
async function connect(t, base, opts = {}) {
  const socket = makeSocket(base, opts);
  if (t) t.after(() => closeSocket(socket));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); closeSocket(socket); reject(new Error(`connect timeout (${socket.label} ${opts.transport || 'websocket'})`)); }, 20000);
    function cleanup() { clearTimeout(timer); socket.off('connect', onConnect); socket.off('connect_error', onErr); }
    function onConnect() { cleanup(); resolve(); }
    function onErr(e) {
      if (opts.reconnection) return; // the manager retries
      cleanup(); closeSocket(socket); reject(new Error(`connect failed: ${e && e.message}`));
    }
    socket.on('connect', onConnect);
    socket.on('connect_error', onErr);
  });
  if (opts.transport === 'upgrade') await waitUpgraded(socket);
  return socket;
}

/** Waits until the engine runs on websocket (the polling -> websocket upgrade happened). */
async function waitUpgraded(socket, ms = 10000) {
  const engine = socket.io.engine;
  if (engine.transport && engine.transport.name === 'websocket') return;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${socket.label}: transport was not upgraded to websocket within ${ms}ms`)), ms);
    engine.once('upgrade', () => { clearTimeout(timer); resolve(); });
  });
}

/** Resolves with the first payload (args[0], or args when several) of event matching pred. */
function waitFor(socket, event, pred = () => true, ms = 10000) {
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`timeout after ${ms}ms waiting for "${event}" on ${socket.label}/${socket.id}; last seen: ${JSON.stringify(socket.events.filter((e) => e.event === event).slice(-5).map((e) => e.args))}`));
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
  p.catch(() => {});
  return p;
}

/** Emits with an ack callback; resolves with the first ack argument; rejects after ms. */
function emitAck(socket, event, payload, ms = 10000) {
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for "${event}" ${JSON.stringify(payload).slice(0, 200)} within ${ms}ms on ${socket.label}`)), ms);
    socket.emit(event, payload, (...reply) => { clearTimeout(timer); resolve(reply[0]); });
  });
  p.catch(() => {});
  return p;
}

async function join(socket, roomId, extra = {}) {
  const reply = await emitAck(socket, 'join_room', { roomId, ...extra });
  assert.equal(reply && reply.success, true, `join_room ${roomId} on ${socket.label} failed: ${JSON.stringify(reply)}`);
  return reply;
}

async function send(socket, roomId, content, extra = {}) {
  const reply = await emitAck(socket, 'send_message', { roomId, content, ...extra });
  assert.equal(reply && reply.success, true, `send_message on ${socket.label} failed: ${JSON.stringify(reply)}`);
  return reply;
}

/** A round trip on socket: every event the server queued for it before has arrived after this. */
async function barrier(socket, roomId) {
  const r = await emitAck(socket, 'fetch_history', { roomId, limit: 1 });
  assert.equal(r && r.success, true, `barrier on ${socket.label}: ${JSON.stringify(r)}`);
}

/** Payloads of event seen on socket (since index mark of socket.events) matching pred. */
function seen(socket, event, pred = () => true, mark = 0) {
  return socket.events.slice(mark).filter((e) => e.event === event && pred(...e.args)).map((e) => e.args[0]);
}

/**
 * Resolves with the first payload of event matching pred recorded on socket since index mark
 * of socket.events (so events that already arrived count), waiting up to ms for one.
 */
async function waitSeen(socket, event, pred = () => true, { mark = 0, ms = 10000 } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = seen(socket, event, pred, mark);
    if (got.length) return got[0];
    if (Date.now() > deadline) {
      throw new Error(`timeout after ${ms}ms waiting for "${event}" on ${socket.label}/${socket.id} (since #${mark}); last seen: ${JSON.stringify(seen(socket, event).slice(-4))}`);
    }
    await sleep(20);
  }
}

/**
 * Asserts no event matching pred arrives within ms. The only fixed wait in the suite, used to
 * check that something does NOT happen (a bounded quiet window after a barrier).
 */
async function expectNoEvent(socket, event, pred = () => true, ms = 700) {
  const mark = socket.events.length;
  await sleep(ms);
  assert.deepEqual(seen(socket, event, pred, mark), [], `expected no "${event}" within ${ms}ms on ${socket.label}`);
}

function assertFail(reply, code, what = '') {
  assert.ok(reply && typeof reply === 'object', `${what}: reply is not an object: ${JSON.stringify(reply)}`);
  assert.equal(reply.success, false, `${what}: expected success:false, got ${JSON.stringify(reply)}`);
  assert.equal(reply.code, code, `${what}: expected code ${code}, got ${JSON.stringify(reply)}`);
  assert.equal(typeof reply.error, 'string', `${what}: error must be a string`);
}

// ---------------------------------------------------------------------------------------
// A whole cluster

/** Closes every open client socket, then waits (bounded) until each live node has none. */
async function closeClientsAndDrain(nodes) {
  for (const s of [...openSockets]) closeSocket(s);
  for (const n of nodes) {
    if (!n.alive()) continue;
    await waitUntil(async () => (await connectedSockets(n)) === 0, { ms: 3000, what: `${n.name} drained` }).catch(() => {});
  }
}

/**
 * Cleanups run last-in first-out in one t.after (node:test runs separate after hooks in
 * registration order). Returns defer(fn).
 */
function deferrer(t) {
  const stack = [];
  t.after(async () => {
    while (stack.length) {
      const fn = stack.pop();
      try { await fn(); } catch { /* keep cleaning */ }
    }
  });
  return (fn) => stack.push(fn);
}

/**
 * Redis + n nodes (+ nginx in front of the first two when opts.nginx). opts.sharded,
 * opts.prefix, opts.nodeArgs. Returns { redis, nodes, nginx, stop() }; stop() stops everything
 * (also what is already dead) and is safe to call twice.
 */
async function startCluster(opts = {}) {
  const started = [];
  const c = { nodes: [] };
  c.stop = async () => {
    const errs = [];
    // Clients first, then let each live node see them go before it gets SIGTERM (a node
    // stopped while polling clients are connected, or right as they leave, hangs until its
    // shutdown_timeout: a server bug the SIGTERM tests check on purpose, not in teardown).
    await closeClientsAndDrain(c.nodes);
    for (const s of started.reverse()) {
      try { await s.stop(); } catch (e) { errs.push(e); }
    }
    started.length = 0;
    if (errs.length) throw errs[0];
  };
  try {
    c.redis = opts.redis || await startRedis();
    if (!opts.redis) started.push(c.redis);
    const prefix = opts.prefix || uniq('iohubtest');
    c.prefix = prefix;
    const n = opts.nodes || 2;
    for (let i = 0; i < n; i++) {
      const node = await startNode(c.redis, { name: 'ABCDEFG'[i], prefix, sharded: opts.sharded, args: opts.nodeArgs });
      started.push(node);
      c.nodes.push(node);
    }
    if (opts.nginx) {
      c.nginx = await startNginx(c.nodes.slice(0, 2));
      started.push(c.nginx);
    }
  } catch (e) {
    await c.stop().catch(() => {});
    throw e;
  }
  return c;
}

module.exports = {
  ROOT, BIN, SECRET, API_KEY, TIMESTAMP_RE, NGINX_CONF,
  sleep, uniq, tmpDir, freePort, waitUntil, tcpOpen,
  startRedis, redisCmd, startProxy, startNode, logRecords, renderNginxConf, startNginx, startCluster,
  token, request, fullHistory, connectedSockets, closeClientsAndDrain, deferrer, pinAddresses, ownerOf, agentFor,
  makeSocket, closeSocket, connect, waitFor, emitAck, join, send, barrier, seen, waitSeen, expectNoEvent, assertFail,
};
