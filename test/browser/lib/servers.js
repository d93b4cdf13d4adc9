'use strict';
// The processes and servers the browser tests need: the real iohub binary, and a tiny static
// file server for examples/web. Each start function resolves once the thing is ready and
// returns a stop function that the test calls in an after() hook.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..', '..');
const BIN = path.resolve(process.env.IOHUB_BIN || path.join(REPO, 'bin', 'iohub'));
const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 10000;

// Children still running when the test process exits (a crash, a timeout) are killed.
const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

/**
 * startIohub runs `iohub serve --listen 127.0.0.1:0 ...args` and resolves with { url, logs, stop }
 * once it has logged its "listening" line (JSON log: {"msg":"listening","addr":"host:port"}).
 */
function startIohub(args, env = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`iohub binary not found at ${BIN}: build it or set IOHUB_BIN`);
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', ...args], {
    env: { ...withoutIohubVars(process.env), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(proc);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
    children.delete(proc);
    resolve({ code, signal });
  }));
  const logs = [];

  async function stop() {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  }

  return new Promise((resolve, reject) => {
    let ready = false;
    const fail = (why) => {
      if (ready) return;
      ready = true; // settled, as a failure
      clearTimeout(timer);
      stop().then(() => reject(new Error(`iohub ${why}; stderr:\n${logs.join('\n')}`)));
    };
    const timer = setTimeout(() => fail(`did not log "listening" within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    exited.then(({ code, signal }) => fail(`exited (${code ?? signal}) before listening`));
    let partial = '';
    proc.stderr.setEncoding('utf8').on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        logs.push(line);
        if (ready) continue;
        let rec;
        try { rec = JSON.parse(line); } catch { continue; }
        if (rec.msg === 'listening') {
          ready = true;
          clearTimeout(timer);
          resolve({ url: `http://${rec.addr}`, logs, stop });
        }
      }
    });
  });
}

// withoutIohubVars drops IOHUB_* variables, so only the test decides the server's configuration.
function withoutIohubVars(env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('IOHUB_')));
}

const CONTENT_TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css' };

/**
 * startStatic serves the files of dir, plus the extra files given as { '/name': absolutePath },
 * on 127.0.0.1:0, and resolves with { url, stop }. "/" is index.html.
 */
function startStatic(dir, extra = {}) {
  const server = http.createServer((req, res) => {
    const urlPath = new URL(req.url, 'http://x').pathname;
    // URL parsing has already removed any "..", so the path stays inside dir.
    const file = extra[urlPath] || path.join(dir, urlPath === '/' ? 'index.html' : urlPath);
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': CONTENT_TYPES[path.extname(file)] || 'application/octet-stream' }).end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const stop = () => new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      });
      resolve({ url: `http://127.0.0.1:${server.address().port}`, stop });
    });
  });
}

module.exports = { REPO, BIN, startIohub, startStatic };
