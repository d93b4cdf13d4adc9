'use strict';
// iohub chat page: one user in one room, on socket.io-client's browser bundle (the global `io`).
//
// Query parameters:
//   server     iohub URL (default: this page's origin)
//   user       user id (default: a random guest id); name: display name (default: user)
//   room       room to join (default: general)
//   transport  "websocket" to skip HTTP long-polling (default: polling, upgraded to websocket)
//
// Tokens come from a dev-mode server's GET /dev/token. A real app gets them from its own login
// backend instead: replace getToken, nothing else changes.

const params = new URLSearchParams(location.search);
const serverURL = params.get('server') || location.origin;
const userId = params.get('user') || `guest-${Math.random().toString(36).slice(2, 8)}`;
const userName = params.get('name') || userId;
const roomId = params.get('room') || 'general';
// Typing events are volatile (the server may drop one), so while the user types typing_start
// is repeated, and an indicator nobody refreshes expires.
const TYPING_IDLE_MS = 2000; // typing_end after this long without a keystroke
const TYPING_REPEAT_MS = 2000; // typing_start again after this long, while typing
const TYPING_EXPIRE_MS = 5000; // hide another user's indicator after this long without news
const ACK_TIMEOUT_MS = 5000;

const $ = (id) => document.getElementById(id);
const ui = {
  room: $('room'), me: $('me'), status: $('status'), messages: $('messages'), users: $('users'),
  userCount: $('user-count'), typing: $('typing'), form: $('form'), input: $('input'), send: $('send'),
};

// Client-side state. Message ids sort in the order the room received them (plain string
// comparison), so "read up to id" covers every message whose id is <= id.
const typers = new Map(); // userId -> { userName, expiry timer } of the others typing now
const readers = new Map(); // userId -> { userName, messageId }: the others' read cursors
let lastMessageId = null; // newest message shown
let lastReadSent = null; // newest id we told the server we read
let typingTimer = null; // pending typing_end, while we are typing
let typingSentAt = 0; // when we last sent typing_start

async function getToken() {
  const url = `${serverURL}/dev/token?sub=${encodeURIComponent(userId)}&name=${encodeURIComponent(userName)}`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET /dev/token: HTTP ${res.status} (is the server in --dev mode?)`);
  return (await res.json()).token;
}

// ---- Rendering: every text goes through textContent, never innerHTML.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showStatus(text) {
  ui.status.textContent = text;
}

function showNotice(text) {
  ui.messages.append(el('li', 'notice', text));
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function showMessage(m) {
  if (ui.messages.querySelector(`li[data-id="${CSS.escape(m.id)}"]`)) return; // already shown
  const li = el('li', m.userId === userId ? 'message mine' : 'message');
  li.dataset.id = m.id;
  const time = new Date(m.timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  li.append(el('span', 'author', m.userName), el('span', 'content', m.content), el('span', 'time', time));
  if (m.userId === userId) li.append(el('span', 'receipt'));
  ui.messages.append(li);
  ui.messages.scrollTop = ui.messages.scrollHeight;
  if (lastMessageId === null || m.id > lastMessageId) lastMessageId = m.id;
}

// showReceipts writes under each of our own messages who has read it.
function showReceipts() {
  for (const li of ui.messages.querySelectorAll('li.mine')) {
    const names = [...readers.values()].filter((r) => r.messageId >= li.dataset.id).map((r) => r.userName);
    li.querySelector('.receipt').textContent = names.length ? `✓ read by ${names.join(', ')}` : '';
  }
}

function showTyping() {
  const names = [...typers.values()].map((t) => t.userName);
  ui.typing.textContent = names.length === 0 ? ''
    : `${names.join(' and ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

function showUsers({ users, count }) {
  ui.users.replaceChildren(...users.map((u) => el('li', u.userId === userId ? 'me' : '', u.userName)));
  ui.userCount.textContent = String(count);
}

// ---- Talking to the server.

// markRead moves our read cursor to the newest message, when the page is being looked at.
function markRead() {
  if (document.visibilityState !== 'visible' || lastMessageId === null) return;
  if (lastReadSent !== null && lastMessageId <= lastReadSent) return;
  lastReadSent = lastMessageId;
  socket.emit('read_messages', { roomId, messageId: lastMessageId });
}

// join (re)enters the room: on every connect, since a reconnected socket starts in no room.
function join() {
  socket.timeout(ACK_TIMEOUT_MS).emit('join_room', { roomId, historyLimit: 50 }, (err, reply) => {
    if (err || !reply.success) {
      showNotice(`cannot join ${roomId}: ${err ? err.message : reply.error}`);
      return;
    }
    ui.messages.replaceChildren();
    reply.history.forEach(showMessage);
    lastReadSent = reply.lastReadMessageId;
    showUsers(reply);
    showReceipts();
    ui.input.disabled = ui.send.disabled = false;
    markRead();
  });
}

function stopTyping() {
  if (typingTimer === null) return;
  clearTimeout(typingTimer);
  typingTimer = null;
  typingSentAt = 0;
  socket.emit('typing_end', { roomId });
}

function onKeystroke() {
  if (Date.now() - typingSentAt >= TYPING_REPEAT_MS) {
    typingSentAt = Date.now();
    socket.emit('typing_start', { roomId });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

// setTyping records whether another user is typing, forgetting it after TYPING_EXPIRE_MS.
function setTyping(otherId, otherName, typing) {
  clearTimeout(typers.get(otherId)?.timer);
  if (typing) {
    typers.set(otherId, { userName: otherName, timer: setTimeout(() => setTyping(otherId, otherName, false), TYPING_EXPIRE_MS) });
  } else {
    typers.delete(otherId);
  }
  showTyping();
}

// send posts the input; the message shows up when new_message comes back. The client id
// (messageId) makes a resend after a lost acknowledgement safe: the server stores it once.
function send(event) {
  event.preventDefault();
  const content = ui.input.value.trim();
  if (!content) return;
  stopTyping();
  ui.input.value = '';
  const messageId = `${userId}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  socket.timeout(ACK_TIMEOUT_MS).emit('send_message', { roomId, content, messageId }, (err, reply) => {
    if (err || !reply.success) {
      showNotice(`not sent (${err ? err.message : reply.error}): "${content}"`);
      ui.input.value ||= content;
    }
  });
}

// ---- Wiring.

ui.room.textContent = `#${roomId}`;
ui.me.textContent = `as ${userName}`;
let socket;

getToken().then((token) => {
  // Default transports: HTTP long-polling first, upgraded to WebSocket when it works.
  const transports = params.get('transport') === 'websocket' ? ['websocket'] : undefined;
  socket = io(serverURL, { auth: { token }, transports });

  socket.on('connect', () => {
    const engine = socket.io.engine;
    showStatus(`connected · ${engine.transport.name}`);
    engine.once('upgrade', () => showStatus(`connected · ${engine.transport.name}`));
    join();
  });
  socket.on('disconnect', (reason) => {
    ui.input.disabled = ui.send.disabled = true;
    typers.forEach((t, otherId) => setTyping(otherId, t.userName, false));
    showStatus(`disconnected (${reason})`);
  });
  // A refused handshake says why in err.data.code: missing_token, invalid_token, token_expired.
  socket.on('connect_error', (err) => showStatus(`cannot connect: ${err.message}${err.data ? ` (${err.data.code})` : ''}`));

  socket.on('new_message', (m) => {
    if (m.roomId !== roomId) return;
    showMessage(m);
    showReceipts();
    if (m.userId === userId) return;
    if (typers.has(m.userId)) setTyping(m.userId, m.userName, false); // they stopped to send it
    markRead();
  });
  socket.on('user_typing', (e) => {
    if (e.roomId !== roomId || e.userId === userId) return;
    setTyping(e.userId, e.userName, e.typing);
  });
  socket.on('messages_read', (e) => {
    if (e.roomId !== roomId || e.userId === userId) return;
    readers.set(e.userId, { userName: e.userName, messageId: e.messageId });
    showReceipts();
  });
  socket.on('room_users', (e) => { if (e.roomId === roomId) showUsers(e); });
  socket.on('user_joined', (e) => { if (e.roomId === roomId) showNotice(`${e.userName} joined`); });
  socket.on('user_left', (e) => { if (e.roomId === roomId) showNotice(`${e.userName} left`); });
  socket.on('error', (e) => showNotice(`error: ${e.message}`)); // failures of events sent without a callback

  ui.input.addEventListener('input', onKeystroke);
  ui.form.addEventListener('submit', send);
  document.addEventListener('visibilitychange', markRead);
}).catch((err) => showStatus(err.message));
