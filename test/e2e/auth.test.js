'use strict';
// PROTOCOL.md "Handshake and identity" and the "Tokens" / "Engine.IO 3 clients" fine print.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let server;
before(async () => { server = await h.startServer(); });
after(async () => { if (server) await server.stop(); });

const now = () => Math.floor(Date.now() / 1000);

function assertRefused(err, code) {
  assert.equal(err.message, 'Authentication failed', `connect_error message: ${JSON.stringify(err.message)}`);
  assert.ok(err.data && typeof err.data === 'object', `connect_error data: ${JSON.stringify(err.data)}`);
  assert.equal(err.data.code, code, `connect_error data: ${JSON.stringify(err.data)}`);
}

/** The user id the server assigned to a connected socket (from a join reply). */
async function whoami(socket) {
  const r = await h.join(socket, h.uniq('who'));
  assert.equal(r.users.length, 1);
  return r.users[0];
}

describe('connect_error codes (socket.io-client@4)', () => {
  for (const transport of ['websocket', 'polling']) {
    test(`missing_token when no token is presented (${transport})`, async () => {
      assertRefused(await h.connectError(server, { transport }), 'missing_token');
    });
  }
  test('missing_token when every place holds an empty string', async () => {
    const err = await h.connectError(server, { auth: { token: '' }, headers: { Authorization: '' }, query: { token: '' } });
    assertRefused(err, 'missing_token');
  });
  test('invalid_token for a garbage token', async () => {
    assertRefused(await h.connectError(server, { token: 'not.a.jwt' }), 'invalid_token');
  });
  test('invalid_token for a token signed with another secret', async () => {
    assertRefused(await h.connectError(server, { token: h.token('u1', { secret: 'some-other-secret-xxxxxxxxxxxxxxxx' }) }), 'invalid_token');
  });
  test('invalid_token for alg none', async () => {
    assertRefused(await h.connectError(server, { token: h.noneToken('u1') }), 'invalid_token');
  });
  test('invalid_token for an algorithm that is not configured (HS384 with the HS256 secret)', async () => {
    assertRefused(await h.connectError(server, { token: h.token('u1', { algorithm: 'HS384' }) }), 'invalid_token');
  });
  test('invalid_token when the required sub claim is missing', async () => {
    assertRefused(await h.connectError(server, { token: h.token(undefined, { name: 'x' }) }), 'invalid_token');
  });
  test('token_expired for exp in the past beyond the leeway', async () => {
    assertRefused(await h.connectError(server, { token: h.token('u1', { exp: now() - 120 }) }), 'token_expired');
  });
  test('exp within the 30 s leeway is accepted', async (t) => {
    const s = await h.connect(t, server, { token: h.token('lee', { exp: now() - 5 }) });
    assert.equal(s.connected, true);
  });
  test('nbf in the future is invalid_token', async () => {
    assertRefused(await h.connectError(server, { token: h.token('u1', { nbf: now() + 600 }) }), 'invalid_token');
  });
  test('nbf within the leeway is accepted', async (t) => {
    const s = await h.connect(t, server, { token: h.token('nbfok', { nbf: now() + 5 }) });
    assert.equal(s.connected, true);
  });
});

describe('token places and precedence: auth > Authorization header > query', () => {
  test('token in the auth payload', async (t) => {
    const s = await h.connect(t, server, { token: h.token('p-auth'), place: 'auth' });
    assert.equal((await whoami(s)).userId, 'p-auth');
  });
  for (const transport of ['websocket', 'polling']) {
    test(`token in the Authorization: Bearer header (extraHeaders, ${transport})`, async (t) => {
      const s = await h.connect(t, server, { transport, token: h.token('p-hdr'), place: 'header' });
      assert.equal((await whoami(s)).userId, 'p-hdr');
    });
    test(`token in the query (${transport})`, async (t) => {
      const s = await h.connect(t, server, { transport, token: h.token('p-query'), place: 'query' });
      assert.equal((await whoami(s)).userId, 'p-query');
    });
  }
  test('auth wins over the header (identity from the auth token)', async (t) => {
    const s = await h.connect(t, server, { auth: { token: h.token('win-auth') }, headers: { Authorization: `Bearer ${h.token('lose-hdr')}` } });
    assert.equal((await whoami(s)).userId, 'win-auth');
  });
  test('header wins over the query', async (t) => {
    const s = await h.connect(t, server, { headers: { Authorization: `Bearer ${h.token('win-hdr')}` }, query: { token: h.token('lose-q') } });
    assert.equal((await whoami(s)).userId, 'win-hdr');
  });
  test('an invalid auth token is not rescued by a valid header', async () => {
    const err = await h.connectError(server, { auth: { token: 'garbage' }, headers: { Authorization: `Bearer ${h.token('u1')}` } });
    assertRefused(err, 'invalid_token');
  });
  test('an invalid header token is not rescued by a valid query token', async () => {
    const err = await h.connectError(server, { headers: { Authorization: 'Bearer garbage' }, query: { token: h.token('u1') } });
    assertRefused(err, 'invalid_token');
  });
  test('an expired auth token is not rescued by a valid header (token_expired)', async () => {
    const err = await h.connectError(server, { auth: { token: h.token('u1', { exp: now() - 300 }) }, headers: { Authorization: `Bearer ${h.token('u1')}` } });
    assertRefused(err, 'token_expired');
  });
  test('a non-string auth.token is invalid_token even with a valid header', async () => {
    for (const bad of [123, { t: 1 }, ['x'], true]) {
      const err = await h.connectError(server, { auth: { token: bad }, headers: { Authorization: `Bearer ${h.token('u1')}` } });
      assertRefused(err, 'invalid_token');
    }
  });
  test('a blank (white space) auth.token is a token, and invalid: a valid header does not rescue it', async () => {
    const err = await h.connectError(server, { auth: { token: ' ' }, headers: { Authorization: `Bearer ${h.token('u1')}` } });
    assertRefused(err, 'invalid_token');
  });
  test('an empty auth.token does not count: the header decides', async (t) => {
    const s = await h.connect(t, server, { auth: { token: '' }, headers: { Authorization: `Bearer ${h.token('empty-then-hdr')}` } });
    assert.equal((await whoami(s)).userId, 'empty-then-hdr');
  });
  test('a null auth.token does not count: the query decides', async (t) => {
    const s = await h.connect(t, server, { auth: { token: null }, query: { token: h.token('null-then-q') } });
    assert.equal((await whoami(s)).userId, 'null-then-q');
  });
});

describe('identity claims', () => {
  test('name is the display name', async (t) => {
    const s = await h.connect(t, server, { token: h.token('c1', { name: 'Carol' }) });
    assert.deepEqual(await whoami(s), { userId: 'c1', userName: 'Carol' });
  });
  test('without name, preferred_username is the display name', async (t) => {
    const s = await h.connect(t, server, { token: h.token('c2', { name: null, claims: { preferred_username: 'carol2' } }) });
    assert.deepEqual(await whoami(s), { userId: 'c2', userName: 'carol2' });
  });
  test('without name and preferred_username, sub is the display name', async (t) => {
    const s = await h.connect(t, server, { token: h.token('c3', { name: null }) });
    assert.deepEqual(await whoami(s), { userId: 'c3', userName: 'c3' });
  });
});

describe('Engine.IO 3 clients (socket.io-client@2)', () => {
  for (const transport of ['websocket', 'polling']) {
    test(`token in the query connects (${transport})`, async (t) => {
      const s = await h.connect(t, server, { client: 'v2', transport, token: h.token('v2q'), place: 'query' });
      assert.equal((await whoami(s)).userId, 'v2q');
    });
    test(`a refused EIO3 client gets the error event with { code } (${transport})`, async () => {
      const missing = await h.connectError(server, { client: 'v2', transport });
      assert.equal(missing.data && missing.data.code, 'missing_token', JSON.stringify(missing.data));
      const invalid = await h.connectError(server, { client: 'v2', transport, token: 'garbage', place: 'query' });
      assert.equal(invalid.data && invalid.data.code, 'invalid_token', JSON.stringify(invalid.data));
      const expired = await h.connectError(server, { client: 'v2', transport, token: h.token('x', { exp: now() - 600 }), place: 'query' });
      assert.equal(expired.data && expired.data.code, 'token_expired', JSON.stringify(expired.data));
    });
  }
});

test('an unknown namespace is refused with connect_error "Invalid namespace"', async () => {
  const err = await h.connectError(server, { nsp: '/nope', sub: 'u1' });
  assert.equal(err.message, 'Invalid namespace');
});

test('iss and aud are checked when configured', async (t) => {
  const s = await h.startServer({ args: ['--auth.jwt.issuer', 'https://issuer.example', '--auth.jwt.audience', 'iohub-e2e'] });
  t.after(() => s.stop());
  const ok = await h.connect(t, s, { token: h.token('ia', { iss: 'https://issuer.example', aud: 'iohub-e2e' }) });
  assert.equal(ok.connected, true);
  assertRefused(await h.connectError(s, { token: h.token('ia', { iss: 'https://other.example', aud: 'iohub-e2e' }) }), 'invalid_token');
  assertRefused(await h.connectError(s, { token: h.token('ia', { iss: 'https://issuer.example', aud: 'someone-else' }) }), 'invalid_token');
  assertRefused(await h.connectError(s, { token: h.token('ia') }), 'invalid_token');
  // aud may be a list: the configured audience must be in it
  const list = await h.connect(t, s, { token: h.token('ia2', { iss: 'https://issuer.example', aud: ['other', 'iohub-e2e'] }) });
  assert.equal(list.connected, true);
  assertRefused(await h.connectError(s, { token: h.token('ia3', { iss: 'https://issuer.example', aud: ['other', 'another'] }) }), 'invalid_token');
});

test('the leeway is configurable (auth.jwt.leeway=0s rejects a token expired 5 s ago)', async (t) => {
  const s = await h.startServer({ args: ['--auth.jwt.leeway', '0s'] });
  t.after(() => s.stop());
  assertRefused(await h.connectError(s, { token: h.token('lw', { exp: now() - 5 }) }), 'token_expired');
});
