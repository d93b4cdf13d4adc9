'use strict';
// Reproducer (not part of npm test): start N fresh servers, connect one socket.io-client@4
// websocket to each and send one join_room with an ack. Reports connections that never got
// CONNECT, and connections closed by the server right after CONNECT (first event never acked).
//   IOHUB_BIN=../../bin/iohub N=150 TR=websocket node repro/first-connection.js
const h = require('../lib/harness');

(async () => {
  let noConn = 0; let noAck = 0;
  const N = Number(process.env.N || 100);
  const transport = process.env.TR || 'websocket';
  for (let i = 0; i < N; i++) {
    const s = await h.startServer({ apiKey: false });
    const sock = h.makeSocket(s, { sub: 'a', transport });
    let disc = null;
    const t0 = Date.now();
    sock.on('disconnect', (r) => { disc = [Date.now() - t0, r]; });
    const ok = await new Promise((res) => {
      const t = setTimeout(() => res(false), 3000);
      sock.on('connect', () => { clearTimeout(t); res(true); });
    });
    if (!ok) { noConn += 1; console.log(`#${i}: CONNECT never answered`); } else {
      try { await h.emitAck(sock, 'join_room', { roomId: 'r' }, h.timeout(3000)); } catch {
        noAck += 1;
        console.log(`#${i}: join_room never acked; disconnect ${JSON.stringify(disc)}`);
      }
    }
    h.closeSocket(sock);
    await s.kill();
  }
  console.log(`${transport}: ${N} fresh servers, CONNECT unanswered ${noConn}, first event unanswered ${noAck}`);
  process.exitCode = noConn || noAck ? 1 : 0;
})();
