'use strict';
// examples/web in headless Chromium against the real iohub binary: two users, each in their own
// browser context, join a room; Alice types (Bob sees the indicator), sends (Bob sees the
// message), Bob's page marks it read (Alice sees the receipt), and a reload shows the history.
// Runs once per transport setting of the page.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { REPO, startIohub, startStatic } = require('./lib/servers');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const BUNDLE = path.join(__dirname, 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js');
const WAIT_MS = 10000; // for anything the page should show

let iohub; let web; let browser; let screenshots;

before(async () => {
  iohub = await startIohub(['--dev', '--store.driver', 'memory']);
  web = await startStatic(path.join(REPO, 'examples', 'web'), { '/socket.io.min.js': BUNDLE });
  // Playwright gives the browser a fresh temporary profile (user data dir) and removes it on close.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
  screenshots = fs.mkdtempSync(path.join(os.tmpdir(), 'iohub-browser-'));
});

after(async () => {
  await browser?.close();
  await web?.stop();
  await iohub?.stop();
});

/**
 * openChat opens the page for one user in a new browser context (its own cookies and storage,
 * like a second browser) and resolves once the room is joined (the input is enabled). It
 * records the page's errors and the Socket.IO transports it used in page.seen.
 */
async function openChat(t, { user, name, room, transport }) {
  const context = await browser.newContext({ viewport: { width: 800, height: 500 } });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.seen = { errors: [], polling: false, websocket: false };
  page.on('pageerror', (err) => page.seen.errors.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') page.seen.errors.push(msg.text()); });
  page.on('request', (req) => { if (req.url().includes('/socket.io/?') && req.url().includes('transport=polling')) page.seen.polling = true; });
  page.on('websocket', (ws) => { if (ws.url().includes('/socket.io/')) page.seen.websocket = true; });

  const query = new URLSearchParams({ server: iohub.url, user, name, room, ...(transport && { transport }) });
  await page.goto(`${web.url}/?${query}`);
  await shows(page, '#status', 'connected');
  await page.locator('#input:enabled').waitFor();
  return page;
}

// shows waits until the element matching selector on page contains text; when it does not
// come, the error tells what the page shows instead.
async function shows(page, selector, text) {
  try {
    await page.locator(selector, { hasText: text }).first().waitFor();
  } catch (err) {
    const status = await page.locator('#status').textContent().catch(() => '?');
    const texts = await page.locator(selector).allInnerTexts().catch(() => []);
    throw new Error(`${selector} never showed ${JSON.stringify(text)}: it shows ${JSON.stringify(texts)}; ` +
      `status ${JSON.stringify(status)}; page errors ${JSON.stringify(page.seen.errors)}`, { cause: err });
  }
}

// screenshot saves what page shows into the screenshots directory and says where.
async function screenshot(t, page, name) {
  const file = path.join(screenshots, name);
  await page.screenshot({ path: file });
  t.diagnostic(`screenshot: ${file}`);
}

for (const { transport, label } of [
  { transport: undefined, label: 'default transports (polling upgraded to websocket)' },
  { transport: 'websocket', label: 'websocket only' },
]) {
  test(`two users chat with typing and read receipts: ${label}`, async (t) => {
    const room = `web-${transport || 'default'}-${process.pid}`;
    const alice = await openChat(t, { user: 'alice', name: 'Alice', room, transport });
    const bob = await openChat(t, { user: 'bob', name: 'Bob', room, transport });

    // Both see both in the room (room_users), and both end up on websocket.
    for (const page of [alice, bob]) {
      await shows(page, '#users li', 'Alice');
      await shows(page, '#users li', 'Bob');
      await shows(page, '#user-count', '2');
      await shows(page, '#status', 'connected · websocket');
    }

    await alice.locator('#input').pressSequentially('Hi Bob');
    await shows(bob, '#typing', 'Alice is typing…');
    await screenshot(t, bob, `${transport || 'default'}-bob-sees-typing.png`);

    await alice.locator('#input').press('Enter');
    await shows(bob, '#messages li.message', 'Hi Bob');
    await shows(alice, '#messages li.mine', 'Hi Bob');
    await bob.waitForFunction(() => document.getElementById('typing').textContent === '');

    // Bob's page is visible, so it reads the message at once: Alice sees the receipt.
    await shows(alice, '#messages li.mine .receipt', '✓ read by Bob');
    await screenshot(t, alice, `${transport || 'default'}-alice-sees-receipt.png`);

    // A reload reconnects and shows the message again, from join_room's history.
    await bob.reload();
    await bob.locator('#input:enabled').waitFor();
    await shows(bob, '#messages li.message', 'Hi Bob');

    for (const page of [alice, bob]) {
      assert.deepEqual(page.seen.errors, [], 'no errors on the page');
      assert.equal(page.seen.websocket, true, 'a websocket was opened');
      assert.equal(page.seen.polling, !transport, transport ? 'no long-polling' : 'long-polling came first');
    }
  });
}
