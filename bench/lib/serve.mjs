// Shared by bench/sessions.mjs and bench/soak.mjs: starts `hookmcp serve` with a config, reads
// its memory and CPU time from /proc, scrapes /metrics, and POSTs GitHub-signed deliveries at a
// steady rate from a few keep-alive connections.
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

export const binary = process.env.HOOKMCP_BINARY ?? new URL('../../build/hookmcp', import.meta.url).pathname;

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// `hookmcp serve` on `listen` (default 127.0.0.1:0) with a fresh database and `config` (an
// object). Resolves once the "listening on" line is on stderr.
export async function startServe(config, { logLevel = 'warn', listen = '127.0.0.1:0' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hookmcp-bench-'));
  const db = join(dir, 'events.db');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const child = spawn(binary, ['serve', '--listen', listen, '--db', db,
    '--config', join(dir, 'config.json'), '--log-level', logLevel], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const port = await new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c) => {
      stderr += c;
      const m = stderr.match(/listening on http:\/\/\S*:(\d+)\s/);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`hookmcp exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    port,
    pid: child.pid,
    stderr: () => stderr,
    // A field of /proc/PID/status in kB (VmRSS, VmHWM, ...).
    procKb(field) {
      const m = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
      return m ? Number(m[1]) : NaN;
    },
    // CPU seconds (user + system) of the whole process, and of its busiest thread.
    cpuSeconds() {
      const ticks = (path) => {
        const f = readFileSync(path, 'utf8').split(') ')[1].split(' ');
        return (Number(f[11]) + Number(f[12])) / 100;  // utime, stime at the usual 100 Hz
      };
      const threads = readdirSync(`/proc/${child.pid}/task`).map((t) => ticks(`/proc/${child.pid}/task/${t}/stat`));
      return { total: ticks(`/proc/${child.pid}/stat`), busiestThread: Math.max(...threads) };
    },
    // Bytes of the database and its WAL.
    dbBytes() {
      let total = 0;
      for (const f of [db, `${db}-wal`, `${db}-shm`]) {
        try { total += statSync(f).size; } catch { /* not there */ }
      }
      return total;
    },
    // /metrics as text.
    metricsText() {
      return new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c) => { data += c; });
          res.on('end', () => resolve(data));
        }).on('error', reject);
      });
    },
    // The unlabelled samples of /metrics, by name.
    async metrics() {
      const text = await this.metricsText();
      const out = {};
      for (const line of text.split('\n')) {
        const m = line.match(/^([a-z_]+)\s+([0-9.e+-]+)$/);
        if (m) out[m[1]] = Number(m[2]);
      }
      return out;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The config of a server with one GitHub source.
export function githubConfig(secret, extra = {}) {
  return { durability: 'full', sources: { github: { provider: 'github', secrets: [secret] } }, ...extra };
}

// A JSON body of about `bytes` bytes shaped like a push event, numbered n.
export function pushBody(n, bytes = 2048) {
  const head = `{"ref":"refs/heads/main","action":"synchronize","n":${n},"repository":{"pad":"`;
  const tail = '"}}';
  return head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail;
}

// POSTs `total` GitHub-signed deliveries (each with a unique X-GitHub-Delivery) to
// /hooks/github at `rate` per second, paced evenly from the start, over `connections`
// keep-alive connections. onAck(id, t0) is called for each stored event with the time its POST
// was sent (performance.now()). Resolves when every POST is answered.
export async function postAtRate({ port, secret, rate, total, connections = 16, body = pushBody, onAck = () => {} }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const statuses = {};
  const ackLatencies = new Float64Array(total);
  let acked = 0;
  let stored = 0;
  let failed = 0;
  let outstanding = 0;
  let lastAnswer = 0;
  let allAnswered;
  const done = new Promise((r) => { allAnswered = r; });
  let sending = true;
  const settle = () => {
    lastAnswer = performance.now();
    if (--outstanding === 0 && !sending) allAnswered();
  };

  function post(i) {
    const payload = body(i);
    const signature = `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;
    const t0 = performance.now();
    outstanding++;
    const req = http.request({ host: '127.0.0.1', port, path: '/hooks/github', method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload),
                 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': randomUUID(),
                 'X-Hub-Signature-256': signature } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          ackLatencies[acked++] = performance.now() - t0;
          if (res.statusCode === 202) {
            stored++;
            onAck(JSON.parse(data).id, t0);
          }
        }
        settle();
      });
    });
    req.on('error', () => { failed++; settle(); });
    req.end(payload);
  }

  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    post(i);
  }
  const sendEnd = performance.now();
  sending = false;
  if (outstanding > 0) await done;
  agent.destroy();
  const lat = ackLatencies.subarray(0, acked).sort();
  return {
    sent: total, acked, stored, failed, statuses,
    sendSeconds: (sendEnd - start) / 1000,
    // Acknowledged deliveries per second, from the first send to the last answer.
    rate: acked / ((lastAnswer - start) / 1000),
    ackP50: percentile(lat, 50), ackP99: percentile(lat, 99),
    start, end: lastAnswer,
  };
}
