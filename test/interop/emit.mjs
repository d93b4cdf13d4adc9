// Publishes with @socket.io/redis-emitter, driven by adapters/redis/interop_test.go:
//
//   node emit.mjs <redis-url> <key> '<json list of {"nsp","rooms","event","args"}>'
//
// Each entry is emitter.of(nsp).to(...rooms).emit(event, ...args) (no rooms: everyone),
// in order. Prints {"done":true} when all are published.
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const [url, key, list] = process.argv.slice(2);
const client = createClient({ url });
await client.connect();
const emitter = new Emitter(client, { key });
for (const { nsp, rooms, event, args } of JSON.parse(list)) {
  let target = emitter.of(nsp);
  if (rooms && rooms.length > 0) target = target.to(rooms);
  target.emit(event, ...args);
}
await client.quit();
console.log(JSON.stringify({ done: true }));
