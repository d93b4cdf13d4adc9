'use strict';
// Two users, Alice and Bob, chat in one room of a running iohub server with socket.io-client 4:
// they join, Alice types and sends, Bob sees both and marks the message read, Alice sees the
// receipt; then Bob answers the same way. Every step is printed as "who: what".
//
//   IOHUB_URL    server URL (default http://127.0.0.1:3000)
//   IOHUB_ROOM   room to chat in (default general)
//   ALICE_TOKEN, BOB_TOKEN   JWTs for the two users; when unset, the script asks a dev-mode
//                server for them at GET /dev/token?sub=&name=
//
// Exits 0 once the conversation is over, 1 on any error or when it takes over 15 seconds.

const { io } = require('socket.io-client');

const url = process.env.IOHUB_URL || 'http://127.0.0.1:3000';
const roomId = process.env.IOHUB_ROOM || 'general';
const TIMEOUT_MS = 5000; // per acknowledgement or awaited event

// token returns the JWT for a user: from the environment, else minted by a dev-mode server.
async function token(sub, name, envToken) {
  if (envToken) return envToken;
  const res = await fetch(`${url}/dev/token?sub=${encodeURIComponent(sub)}&name=${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error(`GET /dev/token: HTTP ${res.status} (is the server in --dev mode? else set ${sub.toUpperCase()}_TOKEN)`);
  return (await res.json()).token;
}

// nextEvent resolves with the first `event` payload on socket that matches `test`.
function nextEvent(socket, event, test = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no ${event} within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    function listener(payload) {
      if (!test(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    }
    socket.on(event, listener);
  });
}

// request emits event with data and returns the server's reply, throwing on a failure reply.
async function request(socket, event, data) {
  const reply = await socket.timeout(TIMEOUT_MS).emitWithAck(event, data);
  if (!reply.success) throw new Error(`${event}: ${reply.code}: ${reply.error}`);
  return reply;
}

// connect opens a socket for one user, prints what it receives and resolves once connected.
async function connect(sub, name, envToken) {
  const socket = io(url, { auth: { token: await token(sub, name, envToken) } });
  const say = (text) => console.log(`${sub}: ${text}`);
  socket.on('user_joined', (e) => say(`${e.userName} joined ${e.roomId}`));
  socket.on('room_users', (e) => say(`${e.roomId} has ${e.count} users: ${e.users.map((u) => u.userName).join(', ')}`));
  const typing = new Set(); // who is typing now: print changes only
  socket.on('user_typing', (e) => {
    if (e.typing === typing.has(e.userId)) return;
    if (e.typing) typing.add(e.userId); else typing.delete(e.userId);
    say(`${e.userName} ${e.typing ? 'is typing…' : 'stopped typing'}`);
  });
  socket.on('new_message', (m) => say(`new message ${m.id} from ${m.userName}: ${m.content}`));
  socket.on('messages_read', (e) => say(`${e.userName} read up to ${e.messageId}`));

  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    // A refused handshake: err.data.code is missing_token, invalid_token or token_expired.
    socket.once('connect_error', (err) => reject(new Error(`${sub} cannot connect: ${err.message} (${err.data?.code ?? 'no code'})`)));
  });
  say(`connected as ${name}`);
  return { socket, say };
}

// join enters the room and prints its state as the join reply tells it.
async function join({ socket, say }) {
  const reply = await request(socket, 'join_room', { roomId, historyLimit: 10 });
  say(`joined ${reply.roomId}: ${reply.count} users, ${reply.history.length} messages of history, ${reply.unreadCount} unread`);
}

// converse has `from` type and send `content`, then `to` read it; it resolves once `to` has
// seen the typing indicator and the message, and `from` has seen the read receipt.
async function converse(from, to, fromName, content) {
  // Typing events are volatile: the server may drop one (say, while the other side's transport
  // is busy), so a client repeats typing_start while the user types, as keystrokes would.
  const typingSeen = nextEvent(to.socket, 'user_typing', (e) => e.typing && e.userName === fromName);
  const keystroke = () => from.socket.emit('typing_start', { roomId });
  keystroke();
  const keystrokes = setInterval(keystroke, 500);
  try {
    await typingSeen;
  } finally {
    clearInterval(keystrokes);
  }

  const delivered = nextEvent(to.socket, 'new_message', (m) => m.content === content);
  await request(from.socket, 'typing_end', { roomId });
  const sent = await request(from.socket, 'send_message', { roomId, content, messageId: `${Date.now()}-${Math.random()}` });
  from.say(`sent ${sent.savedId}`);
  const message = await delivered;

  const receipt = nextEvent(from.socket, 'messages_read', (e) => e.userId !== message.userId && e.messageId === message.id);
  const read = await request(to.socket, 'read_messages', { roomId, messageId: message.id });
  to.say(`marked ${read.messageId} read, ${read.unreadCount} unread`);
  await receipt;
}

async function main() {
  const alice = await connect('alice', 'Alice', process.env.ALICE_TOKEN);
  const bob = await connect('bob', 'Bob', process.env.BOB_TOKEN);
  try {
    await join(alice);
    await join(bob);
    await converse(alice, bob, 'Alice', 'Hi Bob!');
    await converse(bob, alice, 'Bob', 'Hi Alice, got it.');
    console.log('done');
  } finally {
    alice.socket.disconnect();
    bob.socket.disconnect();
  }
}

// Never hang: a server that stops answering ends the run too.
const guard = setTimeout(() => {
  console.error('chat: gave up after 15 s');
  process.exit(1);
}, 15000);

// On success the process ends by itself once both sockets have closed.
main().then(() => clearTimeout(guard), (err) => {
  console.error(`chat: ${err.message}`);
  process.exit(1);
});
