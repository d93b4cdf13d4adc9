// A Node.js socket.io 4 server with @socket.io/redis-adapter and one socket.io-client of
// its own, driven by adapters/redis/interop_test.go:
//
//   node peer.mjs <redis-url> <key> <classic|sharded|sharded-dynamic>
//
// classic: createAdapter(pub, sub, { key }); sharded: createShardedAdapter with
// subscriptionMode "static"; sharded-dynamic: with Node's default, "dynamic".
//
// The server puts every socket in room "room". stdout gets one JSON line per fact:
// {"ready":true} once the client is connected, {"got":<arg>} for every "msg" event the
// client receives. stdin takes one JSON command per line:
// {"room":"room","event":"msg","args":[...]} broadcasts io.to(room).emit(event, ...args);
// {"fetch":true} runs io.fetchSockets() across the cluster and prints {"fetched":<count>}.
// Closing stdin shuts everything down.
import { createServer } from "node:http";
import { once } from "node:events";
import readline from "node:readline";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { io as connect } from "socket.io-client";

const [url, key, mode] = process.argv.slice(2);
const pub = createClient({ url });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

const adapter = mode.startsWith("sharded")
  ? createShardedAdapter(pub, sub, {
      channelPrefix: key,
      subscriptionMode: mode === "sharded-dynamic" ? "dynamic" : "static",
    })
  : createAdapter(pub, sub, { key });
const http = createServer();
const io = new Server(http, { adapter });
io.on("connection", (socket) => socket.join("room"));
http.listen(0, "127.0.0.1");
await once(http, "listening");

const client = connect(`http://127.0.0.1:${http.address().port}`, { transports: ["websocket"] });
client.on("msg", (arg) => console.log(JSON.stringify({ got: arg })));
await once(client, "connect");
console.log(JSON.stringify({ ready: true }));

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const cmd = JSON.parse(line);
  if (cmd.fetch) {
    const sockets = await io.fetchSockets();
    console.log(JSON.stringify({ fetched: sockets.length }));
    return;
  }
  io.to(cmd.room).emit(cmd.event, ...cmd.args);
});
lines.on("close", async () => {
  client.close();
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit()]);
  process.exit(0);
});
