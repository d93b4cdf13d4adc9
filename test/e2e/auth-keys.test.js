'use strict';
// PROTOCOL.md "Handshake and identity": RS256/ES256 with a public key file or a JWKS URL,
// alg allow-list (alg none and any algorithm not configured are rejected).

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const jwt = require('jsonwebtoken');
const h = require('./lib/harness');

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa2 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k) => k.export({ type: 'spki', format: 'pem' });
const now = () => Math.floor(Date.now() / 1000);

function sign(sub, key, algorithm, header = {}) {
  return jwt.sign({ sub, name: sub, exp: now() + 600 }, key, { algorithm, header: { alg: algorithm, typ: 'JWT', ...header }, noTimestamp: true });
}

function assertRefused(err, code) {
  assert.equal(err.message, 'Authentication failed');
  assert.equal(err.data && err.data.code, code, JSON.stringify(err.data));
}

async function whoami(t, server, tok) {
  const s = await h.connect(t, server, { token: tok });
  const r = await h.join(s, h.uniq('who'));
  return r.users[0].userId;
}

test('RS256 with a public key file; HS256 tokens and HS256-signed-with-the-public-key are refused', async (t) => {
  const dir = h.tmpDir();
  const file = path.join(dir, 'rsa.pem');
  fs.writeFileSync(file, pem(rsa.publicKey));
  const s = await h.startServer({ baseArgs: false, args: ['serve', '--listen', '127.0.0.1:0', '--store.path', dir, '--auth.jwt.public_key_file', file] });
  t.after(() => s.stop());
  assert.equal(await whoami(t, s, sign('rs-user', rsa.privateKey, 'RS256')), 'rs-user');
  assertRefused(await h.connectError(s, { token: sign('x', rsa2.privateKey, 'RS256') }), 'invalid_token');
  // key confusion: HS256 with the public key PEM as the secret
  assertRefused(await h.connectError(s, { token: jwt.sign({ sub: 'x', exp: now() + 600 }, pem(rsa.publicKey), { algorithm: 'HS256' }) }), 'invalid_token');
  assertRefused(await h.connectError(s, { token: h.noneToken('x') }), 'invalid_token');
});

test('ES256 with a public key file', async (t) => {
  const dir = h.tmpDir();
  const file = path.join(dir, 'ec.pem');
  fs.writeFileSync(file, pem(ec.publicKey));
  const s = await h.startServer({ baseArgs: false, args: ['serve', '--listen', '127.0.0.1:0', '--store.path', dir, '--auth.jwt.public_key_file', file] });
  t.after(() => s.stop());
  assert.equal(await whoami(t, s, sign('es-user', ec.privateKey, 'ES256')), 'es-user');
  assertRefused(await h.connectError(s, { token: h.token('x') }), 'invalid_token');
});

test('auth.jwt.algorithms restricts the accepted algorithms', async (t) => {
  const dir = h.tmpDir();
  const file = path.join(dir, 'rsa.pem');
  fs.writeFileSync(file, pem(rsa.publicKey));
  // secret and RSA key configured, but only RS256 allowed
  const s = await h.startServer({ args: ['--auth.jwt.public_key_file', file, '--auth.jwt.algorithms', 'RS256'] });
  t.after(() => s.stop());
  assert.equal(await whoami(t, s, sign('only-rs', rsa.privateKey, 'RS256')), 'only-rs');
  assertRefused(await h.connectError(s, { token: h.token('hs') }), 'invalid_token');
});

let jwksServer;
after(() => { if (jwksServer) jwksServer.close(); });

test('JWKS URL: keys by kid, refreshed on an unknown kid', async (t) => {
  const jwk = (k, kid, alg) => ({ ...k.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  let keys = [jwk(rsa.publicKey, 'k1', 'RS256')];
  let hits = 0;
  jwksServer = http.createServer((req, res) => {
    hits += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${jwksServer.address().port}/jwks.json`;
  const s = await h.startServer({ baseArgs: false, args: ['serve', '--listen', '127.0.0.1:0', '--store.path', h.tmpDir(), '--auth.jwt.jwks_url', url] });
  t.after(() => s.stop());
  assert.equal(await whoami(t, s, sign('jwks-1', rsa.privateKey, 'RS256', { kid: 'k1' })), 'jwks-1');
  // cached: more tokens with a known kid do not fetch the JWKS again
  const cached = hits;
  assert.equal(await whoami(t, s, sign('jwks-1b', rsa.privateKey, 'RS256', { kid: 'k1' })), 'jwks-1b');
  assert.equal(await whoami(t, s, sign('jwks-1c', rsa.privateKey, 'RS256', { kid: 'k1' })), 'jwks-1c');
  assert.equal(hits, cached, 'the JWKS is fetched for every token (not cached)');
  assertRefused(await h.connectError(s, { token: sign('x', rsa2.privateKey, 'RS256', { kid: 'k1' }) }), 'invalid_token');
  // rotate: a new key with a new kid appears in the JWKS; the server refetches on the unknown kid
  keys = [jwk(rsa.publicKey, 'k1', 'RS256'), jwk(rsa2.publicKey, 'k2', 'RS256'), jwk(ec.publicKey, 'k3', 'ES256')];
  const before = hits;
  assert.equal(await whoami(t, s, sign('jwks-2', rsa2.privateKey, 'RS256', { kid: 'k2' })), 'jwks-2');
  assert.ok(hits > before, 'the JWKS was not fetched again for the unknown kid');
  assert.equal(await whoami(t, s, sign('jwks-3', ec.privateKey, 'ES256', { kid: 'k3' })), 'jwks-3');
  assertRefused(await h.connectError(s, { token: sign('x', rsa.privateKey, 'RS256', { kid: 'nope' }) }), 'invalid_token');
  assertRefused(await h.connectError(s, { token: h.noneToken('x') }), 'invalid_token');
});
