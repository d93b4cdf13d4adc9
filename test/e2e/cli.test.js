'use strict';
// PROTOCOL.md "Running iohub (operating contract)": iohub serve | token | version, --config,
// flags, IOHUB_* environment, dev mode, configuration errors naming the key.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const jwt = require('jsonwebtoken');
const h = require('./lib/harness');

function run(args, env = {}) {
  const clean = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('IOHUB_')) clean[k] = v;
  const dir = h.tmpDir();
  const r = spawnSync(h.BIN, args, { cwd: dir, env: { ...clean, ...env }, encoding: 'utf8', timeout: 15000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

test('iohub version prints the version and exits 0', () => {
  const r = run(['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.trim().length > 0, 'empty version');
});

test('iohub token --sub --name --rooms --ttl prints an HS256 token the server accepts', async (t) => {
  const r = run(['token', '--sub', 'cli-user', '--name', 'Cli User', '--rooms', 'a,team-*', '--ttl', '1h', '--auth.jwt.secret', h.SECRET]);
  assert.equal(r.code, 0, r.stderr);
  const tok = r.stdout.trim();
  const claims = jwt.verify(tok, h.SECRET, { algorithms: ['HS256'] });
  assert.equal(claims.sub, 'cli-user');
  assert.equal(claims.name, 'Cli User');
  assert.deepEqual(claims.rooms, ['a', 'team-*']);
  const ttl = claims.exp - Math.floor(Date.now() / 1000);
  assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
  const s = await h.startServer();
  t.after(() => s.stop());
  const sock = await h.connect(t, s, { token: tok });
  assert.equal((await h.emitAck(sock, 'join_room', 'team-x')).success, true);
  h.assertFail(await h.emitAck(sock, 'join_room', 'b'), 'forbidden');
});

test('iohub token takes the secret from IOHUB_AUTH_JWT_SECRET', () => {
  const r = run(['token', '--sub', 'env-user'], { IOHUB_AUTH_JWT_SECRET: h.SECRET });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(jwt.verify(r.stdout.trim(), h.SECRET).sub, 'env-user');
});

test('a bad config stops start-up with one line naming the key', () => {
  const dir = h.tmpDir();
  const cases = [
    [['serve', '--listen', '127.0.0.1:0', '--store.path', dir], 'auth.jwt.secret'],
    [['serve', '--listen', '127.0.0.1:0', '--store.path', dir, '--auth.jwt.secret', 's', '--rooms.default_policy', 'sometimes'], 'rooms.default_policy'],
    [['serve', '--listen', '127.0.0.1:0', '--store.path', dir, '--auth.jwt.secret', 's', '--store.driver', 'floppy'], 'store.driver'],
    [['serve', '--listen', '127.0.0.1:0', '--store.path', dir, '--auth.jwt.secret', 's', '--namespace_pattern', '(['], 'namespace_pattern'],
  ];
  for (const [args, key] of cases) {
    const r = run(args);
    assert.notEqual(r.code, 0, `${key}: started anyway`);
    assert.ok(r.stderr.includes(key), `${key}: stderr does not name the key: ${r.stderr}`);
  }
});

test('a bare iohub runs serve', async (t) => {
  const s = await h.startServer({ baseArgs: false, args: ['--listen', '127.0.0.1:0', '--auth.jwt.secret', h.SECRET, '--store.path', h.tmpDir()] });
  t.after(() => s.stop());
  const sock = await h.connect(t, s, { sub: 'bare' });
  assert.equal(sock.connected, true);
});

test('configuration from IOHUB_* environment variables (dots as underscores, lists comma-separated)', async (t) => {
  const s = await h.startServer({
    baseArgs: false,
    args: ['serve'],
    env: {
      IOHUB_LISTEN: '127.0.0.1:0', IOHUB_AUTH_JWT_SECRET: 'env-secret-xxxxxxxxxxxxxxxxxxxxxxxx', IOHUB_STORE_PATH: h.tmpDir(),
      IOHUB_API_KEYS: 'ka,kb', IOHUB_LIMITS_MAX_MESSAGE_LENGTH: '5', IOHUB_ROOMS_DEFAULT_POLICY: 'closed',
    },
  });
  t.after(() => s.stop());
  const sock = await h.connect(t, s, { token: h.token('e', { secret: 'env-secret-xxxxxxxxxxxxxxxxxxxxxxxx', rooms: ['r'] }) });
  await h.join(sock, 'r');
  h.assertFail(await h.emitAck(sock, 'send_message', { roomId: 'r', content: '123456' }), 'too_large');
  h.assertFail(await h.emitAck(sock, 'join_room', 'other'), 'forbidden');
  assert.equal((await h.http(s, 'GET', '/api/v1/rooms/r/users', { key: 'kb' })).status, 200);
});

for (const [ext, text] of [
  ['yaml', (dir) => `listen: "127.0.0.1:0"\nauth:\n  jwt:\n    secret: file-secret-xxxxxxxxxxxxxxxxxxxxxx\nstore:\n  path: "${dir}"\napi:\n  keys: ["file-key"]\nlimits:\n  max_message_length: 5\n`],
  ['json', (dir) => JSON.stringify({ listen: '127.0.0.1:0', auth: { jwt: { secret: 'file-secret-xxxxxxxxxxxxxxxxxxxxxx' } }, store: { path: dir }, api: { keys: ['file-key'] }, limits: { max_message_length: 5 } })],
  ['toml', (dir) => `listen = "127.0.0.1:0"\n[auth.jwt]\nsecret = "file-secret-xxxxxxxxxxxxxxxxxxxxxx"\n[store]\npath = "${dir}"\n[api]\nkeys = ["file-key"]\n[limits]\nmax_message_length = 5\n`],
]) {
  test(`--config FILE reads ${ext.toUpperCase()}; flags override the file`, async (t) => {
    const dir = h.tmpDir();
    const file = path.join(dir, `iohub.${ext}`);
    fs.writeFileSync(file, text(dir));
    const s = await h.startServer({ baseArgs: false, args: ['serve', '--config', file, '--limits.max_message_length', '7'] });
    t.after(() => s.stop());
    const sock = await h.connect(t, s, { token: h.token('f', { secret: 'file-secret-xxxxxxxxxxxxxxxxxxxxxx' }) });
    await h.join(sock, 'r');
    assert.equal((await h.emitAck(sock, 'send_message', { roomId: 'r', content: '1234567' })).success, true, 'flag must override the file');
    h.assertFail(await h.emitAck(sock, 'send_message', { roomId: 'r', content: '12345678' }), 'too_large');
    assert.equal((await h.http(s, 'GET', '/api/v1/rooms/r/users', { key: 'file-key' })).status, 200);
  });
}

test('--dev works with nothing else set, logs a warning, and GET /dev/token mints a working token', async (t) => {
  const s = await h.startServer({ baseArgs: false, args: ['serve', '--dev', '--listen', '127.0.0.1:0', '--store.path', h.tmpDir()] });
  t.after(() => s.stop());
  const warn = s.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .filter((r) => r && /warn/i.test(String(r.level)) && /dev/i.test(JSON.stringify(r)));
  assert.ok(warn.length >= 1, `no dev-mode warning in ${s.logs.join('\n')}`);
  const res = await h.http(s, 'GET', '/dev/token?sub=dev-user&name=Dev%20User', { key: false });
  assert.equal(res.status, 200, res.text);
  assert.equal(typeof res.body.token, 'string', res.text);
  const sock = await h.connect(t, s, { token: res.body.token });
  const j = await h.join(sock, 'dev-room');
  assert.deepEqual(j.users, [{ userId: 'dev-user', userName: 'Dev User' }]);
});

test('GET /dev/token does not exist outside dev mode', async (t) => {
  const s = await h.startServer();
  t.after(() => s.stop());
  const res = await h.http(s, 'GET', '/dev/token?sub=x', { key: false });
  assert.equal(res.status, 404);
});

test('log.format json: every stderr line is a JSON object', async (t) => {
  const s = await h.startServer();
  t.after(() => s.kill());
  const sock = await h.connect(t, s, { sub: 'l' });
  await h.join(sock, 'logs');
  h.closeSocket(sock);
  const ex = await s.stop();
  assert.equal(ex.code, 0);
  const bad = s.logs.filter((l) => { try { return typeof JSON.parse(l) !== 'object'; } catch { return true; } });
  assert.deepEqual(bad, []);
});
