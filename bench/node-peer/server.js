'use strict';
// A Node.js socket.io 4.8 server speaking the iohub chat protocol (shared PROTOCOL.md) for the
// events the benchmarks use: JWT auth, join_room / leave_room with coalesced presence,
// send_message with an in-memory store, new_message broadcast, acks, disconnect cleanup.
// It is the baseline of scripts/bench.sh, so it is written the way a Node developer would ship
// it: default socket.io options (websocket + polling), no artificial limits.
//
// Usage: node server.js --listen 127.0.0.1:0 --secret S [--room-users-interval-ms 1000]
// Prints {"msg":"listening","addr":"HOST:PORT"} on stderr once it accepts connections.

const crypto = require('node:crypto');
const http = require('node:http');
const { Server } = require('socket.io');
const jwt = require('jsonwebtoken');

const ROOM_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const MAX_CONTENT = 4000;
const MAX_CLIENT_ID = 128;
const DEFAULT_HISTORY = 50;
const MAX_HISTORY = 200;
const MAX_LISTED_USERS = 500;

function parseArgs(argv) {
  const opts = { listen: '127.0.0.1:3000', secret: process.env.IOHUB_AUTH_JWT_SECRET || '', roomUsersIntervalMs: 1000 };
  for (let i = 2; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === '--listen') opts.listen = value;
    else if (key === '--secret') opts.secret = value;
    else if (key === '--room-users-interval-ms') opts.roomUsersIntervalMs = Number(value);
    else throw new Error(`unknown flag ${key}`);
  }
  if (!opts.secret) throw new Error('--secret is required');
  return opts;
}

class ReplyError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const fail = (code, message) => { throw new ReplyError(code, message); };

// roomArg accepts the bare room id or { roomId } / { room }.
function roomArg(payload) {
  const roomId = typeof payload === 'string' ? payload : payload && (payload.roomId ?? payload.room);
  if (typeof roomId !== 'string' || !ROOM_ID.test(roomId)) fail('bad_request', 'roomId is invalid');
  if (roomId.startsWith('user:')) fail('forbidden', 'personal rooms cannot be used');
  return roomId;
}

// Store keeps every room's messages in memory, in arrival order.
class Store {
  constructor() {
    this.rooms = new Map();
    this.replies = new Map();
  }

  messages(roomId) {
    let list = this.rooms.get(roomId);
    if (!list) {
      list = [];
      this.rooms.set(roomId, list);
    }
    return list;
  }

  append(roomId, user, content, replyTo, clientMessageId) {
    const list = this.messages(roomId);
    const message = {
      id: String(list.length + 1).padStart(16, '0'),
      roomId,
      userId: user.id,
      userName: user.name,
      content,
      replyTo,
      clientMessageId,
      timestamp: new Date().toISOString(),
    };
    list.push(message);
    return message;
  }

  history(roomId, limit) {
    const list = this.rooms.get(roomId) || [];
    return limit === 0 ? [] : list.slice(-limit);
  }

  has(roomId, id) {
    return (this.rooms.get(roomId) || []).some((m) => m.id === id);
  }
}

// Presence counts each user's sockets per room and coalesces room_users broadcasts: the first
// change after a quiet interval goes out at once, later ones fold into one trailing broadcast.
class Presence {
  constructor(io, intervalMs) {
    this.io = io;
    this.intervalMs = intervalMs;
    this.rooms = new Map(); // roomId -> { users: Map(userId -> {name, sockets}), lastSent, timer }
  }

  room(roomId) {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { users: new Map(), lastSent: 0, timer: null };
      this.rooms.set(roomId, room);
    }
    return room;
  }

  // add returns true when this is the user's first socket in the room.
  add(roomId, user) {
    const room = this.room(roomId);
    const entry = room.users.get(user.id);
    if (entry) {
      entry.sockets += 1;
      return false;
    }
    room.users.set(user.id, { name: user.name, sockets: 1 });
    return true;
  }

  // remove returns true when the user has no socket left in the room.
  remove(roomId, user) {
    const room = this.rooms.get(roomId);
    const entry = room && room.users.get(user.id);
    if (!entry) return false;
    entry.sockets -= 1;
    if (entry.sockets > 0) return false;
    room.users.delete(user.id);
    return true;
  }

  list(roomId) {
    const room = this.rooms.get(roomId);
    if (!room) return { users: [], count: 0 };
    const ids = [...room.users.keys()].sort();
    const users = ids.slice(0, MAX_LISTED_USERS).map((userId) => ({ userId, userName: room.users.get(userId).name }));
    return { users, count: ids.length };
  }

  changed(roomId) {
    const room = this.room(roomId);
    if (room.timer) return;
    const wait = room.lastSent + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.broadcast(roomId);
      return;
    }
    room.timer = setTimeout(() => this.broadcast(roomId), wait);
  }

  broadcast(roomId) {
    const room = this.room(roomId);
    room.timer = null;
    room.lastSent = Date.now();
    this.io.to(roomId).emit('room_users', { roomId, ...this.list(roomId) });
    if (room.users.size === 0) this.rooms.delete(roomId);
  }
}

function authenticate(secret) {
  const key = crypto.createSecretKey(Buffer.from(secret)); // built once, not per verify
  return (socket, next) => {
    const token = socket.handshake.auth && socket.handshake.auth.token;
    if (token === undefined || token === null || token === '') {
      return next(Object.assign(new Error('Authentication failed'), { data: { code: 'missing_token' } }));
    }
    try {
      const claims = jwt.verify(String(token), key, { algorithms: ['HS256'], clockTolerance: 30 });
      if (typeof claims.sub !== 'string' || claims.sub === '') throw new Error('no sub');
      socket.data.user = { id: claims.sub, name: claims.name || claims.preferred_username || claims.sub };
      return next();
    } catch (err) {
      const code = err.name === 'TokenExpiredError' ? 'token_expired' : 'invalid_token';
      return next(Object.assign(new Error('Authentication failed'), { data: { code } }));
    }
  };
}

function historyLimit(payload) {
  const limit = payload && typeof payload === 'object' && payload.historyLimit != null ? payload.historyLimit : DEFAULT_HISTORY;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_HISTORY) fail('bad_request', 'historyLimit must be 0..200');
  return limit;
}

function messageInput(payload, socket, store) {
  if (!payload || typeof payload !== 'object') fail('bad_request', 'payload must be an object');
  const roomId = roomArg(payload);
  const content = payload.content ?? payload.message;
  if (typeof content !== 'string' || content.trim() === '') fail('bad_request', 'content must be a non-blank string');
  if ([...content].length > MAX_CONTENT) fail('too_large', 'content is too long');
  const replyTo = payload.replyTo ?? null;
  if (replyTo !== null && (typeof replyTo !== 'string' || !store.has(roomId, replyTo))) fail('not_found', 'replyTo not found');
  const clientMessageId = payload.messageId ?? null;
  if (clientMessageId !== null && (typeof clientMessageId !== 'string' || clientMessageId.length > MAX_CLIENT_ID)) {
    fail('bad_request', 'messageId is invalid');
  }
  if (!socket.rooms.has(roomId)) fail('forbidden', 'join the room first');
  return { roomId, content, replyTo, clientMessageId };
}

function chatHandlers(io, socket, store, presence) {
  const user = socket.data.user;

  const join = (payload) => {
    const roomId = roomArg(payload);
    const limit = historyLimit(payload);
    if (!socket.rooms.has(roomId)) {
      socket.join(roomId);
      if (presence.add(roomId, user)) {
        socket.to(roomId).emit('user_joined', { roomId, userId: user.id, userName: user.name });
        presence.changed(roomId);
      }
    }
    return { roomId, ...presence.list(roomId), history: store.history(roomId, limit), lastReadMessageId: null, unreadCount: 0 };
  };

  const leaveRoom = (roomId) => {
    if (presence.remove(roomId, user)) {
      socket.to(roomId).emit('user_left', { roomId, userId: user.id, userName: user.name });
      presence.changed(roomId);
    }
  };

  const leave = (payload) => {
    const roomId = roomArg(payload);
    if (socket.rooms.has(roomId)) {
      socket.leave(roomId);
      leaveRoom(roomId);
    }
    return { roomId };
  };

  const send = (payload) => {
    const input = messageInput(payload, socket, store);
    const key = input.clientMessageId === null ? null : `${user.id}\u0000${input.roomId}\u0000${input.clientMessageId}`;
    if (key !== null && store.replies.has(key)) return store.replies.get(key);
    const message = store.append(input.roomId, user, input.content, input.replyTo, input.clientMessageId);
    io.to(input.roomId).emit('new_message', message);
    const reply = { message, savedId: message.id };
    if (key !== null) store.replies.set(key, reply);
    return reply;
  };

  on(socket, 'join_room', join, (reply) => socket.emit('joined_room', { success: true, ...reply }));
  on(socket, 'leave_room', leave, (reply) => socket.emit('left_room', { roomId: reply.roomId }));
  on(socket, 'send_message', send, null, (payload) => payload && payload.messageId);
  socket.on('disconnecting', () => {
    for (const roomId of socket.rooms) {
      if (roomId !== socket.id && !roomId.startsWith('user:')) leaveRoom(roomId);
    }
  });
}

// on registers an event handler with the protocol's reply rules: a callback gets the reply
// object; without one, success goes to onSuccess (if any) and failures to ack:<messageId> or
// the error event.
function on(socket, event, handler, onSuccess, clientId = () => null) {
  socket.on(event, (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    let reply;
    try {
      reply = { success: true, ...handler(args[0]) };
    } catch (err) {
      if (!(err instanceof ReplyError)) console.error(err);
      const code = err instanceof ReplyError ? err.code : 'internal';
      reply = { success: false, code, error: err.message };
    }
    const id = clientId(args[0]);
    if (ack) ack(reply);
    else if (typeof id === 'string' && id !== '' && id.length <= MAX_CLIENT_ID) socket.emit(`ack:${id}`, reply);
    else if (!reply.success) socket.emit('error', { code: reply.code, message: reply.error, event });
    else if (onSuccess) onSuccess(reply);
  });
}

function main() {
  const opts = parseArgs(process.argv);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { serveClient: false, cors: { origin: true, credentials: true } });
  const store = new Store();
  const presence = new Presence(io, opts.roomUsersIntervalMs);
  io.use(authenticate(opts.secret));
  io.on('connection', (socket) => {
    socket.join(`user:${socket.data.user.id}`);
    chatHandlers(io, socket, store, presence);
  });
  const sep = opts.listen.lastIndexOf(':');
  const host = opts.listen.slice(0, sep) || '0.0.0.0';
  httpServer.listen(Number(opts.listen.slice(sep + 1)), host, () => {
    const { address, port } = httpServer.address();
    process.stderr.write(`${JSON.stringify({ msg: 'listening', addr: `${address}:${port}` })}\n`);
  });
  const stop = () => io.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
