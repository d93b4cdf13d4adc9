'use strict';
// Reproducer (not part of npm test): SIGTERM with only long-polling clients connected.
// PROTOCOL.md: exit 0 within shutdown_timeout.
//   IOHUB_BIN=../../bin/iohub N=6 node repro/shutdown-polling.js
const h = require('../lib/harness');

(async () => {
  const N = Number(process.env.N || 6);
  let bad = 0;
  for (let i = 0; i < N; i++) {
    const s = await h.startServer({ args: ['--shutdown_timeout', '3s'] });
    const a = await h.connect(null, s, { sub: 'p', transport: 'polling' });
    const t0 = Date.now();
    s.proc.kill('SIGTERM');
    const ex = await s.exited;
    const took = Date.now() - t0;
    if (ex.code !== 0) bad += 1;
    console.log(`#${i}: exit ${JSON.stringify(ex)} after ${took} ms; ${s.logs.slice(-1)[0]}`);
    h.closeSocket(a);
  }
  console.log(`${bad} of ${N} shutdowns did not exit 0`);
  process.exitCode = bad ? 1 : 0;
})();
