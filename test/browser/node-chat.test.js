'use strict';
// examples/node-chat/chat.js against the real iohub binary, the two ways its README shows:
// tokens from a dev-mode server's /dev/token, and tokens minted by `iohub token` for a server
// with a real secret. The script finds socket.io-client in this package's node_modules.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFile, spawn } = require('node:child_process');
const path = require('node:path');
const { promisify } = require('node:util');
const { REPO, BIN, startIohub } = require('./lib/servers');

const SCRIPT = path.join(REPO, 'examples', 'node-chat', 'chat.js');
const RUN_TIMEOUT_MS = 45000; // the script gives up after 15 s; closing its sockets may take 30 s more
const SECRET = 'node-chat-test-secret-0123456789abcdef';

/**
 * runChat runs chat.js with env and resolves with { code, lines, stderr, lingerMs }: its exit
 * code, its stdout lines, and how long it took to exit after printing "done".
 */
function runChat(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT], {
      env: { ...process.env, NODE_PATH: path.join(__dirname, 'node_modules'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let doneAt = null;
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (doneAt === null && /^done$/m.test(stdout)) doneAt = Date.now();
    });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chat.js still running after ${RUN_TIMEOUT_MS} ms; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: stdout.split('\n').filter(Boolean), stderr, lingerMs: doneAt && Date.now() - doneAt });
    });
  });
}

// assertConversation checks the story chat.js prints: typing, delivery and a read receipt in
// each direction, for the same message ids.
function assertConversation({ code, lines, stderr }) {
  assert.equal(code, 0, `chat.js exit code; stderr: ${stderr}`);
  const find = (re) => {
    const line = lines.find((l) => re.test(l));
    assert.ok(line, `no line matching ${re} in:\n${lines.join('\n')}`);
    return line.match(re);
  };
  find(/^alice: joined \S+: 1 users, 0 messages of history, 0 unread$/);
  find(/^bob: joined \S+: 2 users, 0 messages of history, 0 unread$/);
  find(/^alice: Bob joined /);

  find(/^bob: Alice is typing…$/);
  const [, first] = find(/^bob: new message (\S+) from Alice: Hi Bob!$/);
  assert.equal(find(/^alice: sent (\S+)$/)[1], first);
  assert.equal(find(/^alice: Bob read up to (\S+)$/)[1], first);

  find(/^alice: Bob is typing…$/);
  const [, second] = find(/^alice: new message (\S+) from Bob: Hi Alice, got it\.$/);
  assert.equal(find(/^bob: Alice read up to (\S+)$/)[1], second);
  assert.ok(second > first, `message ids sort in arrival order: ${first} < ${second}`);
  find(/^done$/);
}

// exitsPromptly is a subtest: once the conversation is over, the script ends by itself when
// its sockets close, which needs the server to finish the WebSocket closing handshake.
async function exitsPromptly(t, run) {
  await t.test('exits within 5 s of "done"', () => assert.ok(run.lingerMs < 5000, `exited ${run.lingerMs} ms after "done"`));
}

test('node-chat example with dev-mode tokens', async (t) => {
  const iohub = await startIohub(['--dev', '--store.driver', 'memory']);
  t.after(() => iohub.stop());
  const run = await runChat({ IOHUB_URL: iohub.url, IOHUB_ROOM: 'node-chat-dev', ALICE_TOKEN: '', BOB_TOKEN: '' });
  assertConversation(run);
  await exitsPromptly(t, run);
});

test('node-chat example with tokens from `iohub token`', async (t) => {
  const iohub = await startIohub(['--auth.jwt.secret', SECRET, '--store.driver', 'memory']);
  t.after(() => iohub.stop());
  const mint = async (sub, name) => {
    const { stdout } = await promisify(execFile)(BIN, ['token', '--sub', sub, '--name', name],
      { env: { ...process.env, IOHUB_AUTH_JWT_SECRET: SECRET }, timeout: 10000 });
    return stdout.trim();
  };
  const run = await runChat({
    IOHUB_URL: iohub.url,
    IOHUB_ROOM: 'node-chat-env',
    ALICE_TOKEN: await mint('alice', 'Alice'),
    BOB_TOKEN: await mint('bob', 'Bob'),
  });
  assertConversation(run);
  await exitsPromptly(t, run);
});
