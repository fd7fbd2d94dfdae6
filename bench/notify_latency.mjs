// Webhook POST to live notification, as a subscribed MCP client sees it. Drives the real binary
// with the official SDK client over Streamable HTTP (hookmcp serve) and over stdio
// (hookmcp stdio), POSTs webhooks at a steady rate, and timestamps each
// notifications/claude/channel on receipt against the moment its POST was sent.
//
// Then the two eras' channels for resource updates, side by side on `hookmcp serve`: a session
// of 2025-11-25 subscribed with resources/subscribe, hearing on its GET stream ("http-get"), and
// MCP 2026-07-28's subscriptions/listen stream ("http-listen"). Both are read by the same few
// lines of fetch and SSE parsing, not the SDK (whose per-message validation, on two busy cores,
// costs the client more than the server's whole path), so that they differ on the server alone. An update names a feed, not an
// event, and comes once per commit, so the webhooks go round-robin to SOURCES sources, each
// subscribed as hookmcp://sources/{source}: an update for a source is matched to that source's
// oldest POST not yet heard of. Two events of one source in one commit (one every SOURCES
// events apart) leave the second matched to a later update, which can only overstate latency.
//
// Last, "follower": `hookmcp stdio` started on the address and database of a running
// `hookmcp serve` follows the database; its client's latency beside a client of the serve's own,
// on the same webhooks.
//
// "nodes" (not in the default set; bench/postgres.sh runs it): two `hookmcp serve` nodes on one
// PostgreSQL database (HOOKMCP_BENCH_PG=postgres://user@host:port, a server where a database
// may be created); the client is on node A, the webhooks go to node B, so that every
// notification crosses the database: B's commit, its NOTIFY, A's read by cursor, A's push.
//
// Usage: node bench/notify_latency.mjs [RATE_PER_S=1000] [SECONDS=5] [RUNS=3] [SOURCES=50]
// (MODES=http,stdio,http-get,http-listen,follower,nodes picks some)
// (run from the repository root after scripts/build.sh; it loads the SDK from tests/node).
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

const require = createRequire(new URL('../tests/node/package.json', import.meta.url));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');

const binary = process.env.HOOKMCP_BINARY ?? new URL('../build/hookmcp', import.meta.url).pathname;
const rate = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 5);
const runs = Number(process.argv[4] ?? 3);
const sourceCount = Number(process.argv[5] ?? 50);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The port from the "listening on" line of a process's stderr stream.
function waitForPort(stderr) {
  return new Promise((resolve, reject) => {
    let text = '';
    stderr.on('data', (c) => {
      text += c;
      const m = text.match(/listening on http:\/\/\S*:(\d+)\s/);
      if (m) resolve(Number(m[1]));
    });
    stderr.on('end', () => reject(new Error(`no listening line: ${text}`)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function post(port, body, source = 'bench') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/hooks/${source}`, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve(JSON.parse(data)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Sends rate * seconds webhooks at a steady rate (`send(i)` returns the POST's promise), then
// waits up to 3 s for `latencies` to fill. Returns how many were sent and the seconds it took.
async function offer(latencies, send) {
  const total = rate * seconds;
  const start = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(i));
  }
  await Promise.all(pending);
  const deadline = performance.now() + 3000;
  while (latencies.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { total, elapsed: (performance.now() - start) / 1000 };
}

// Stops the server (if the run started one), removes its directory, and sums the run up.
async function finish(server, dir, latencies, total, elapsed) {
  if (server) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return { sent: total, received: latencies.length, rate: total / elapsed,
           p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) };
}

let databases = 0;
// A fresh database on the PostgreSQL server HOOKMCP_BENCH_PG names; its URL.
function freshPostgres() {
  const server = process.env.HOOKMCP_BENCH_PG;
  if (!server) throw new Error('mode nodes needs HOOKMCP_BENCH_PG=postgres://user@host:port');
  const name = `notify_${process.pid}_${++databases}`;
  execFileSync('psql', [`${server}/postgres`, '-qc', `CREATE DATABASE ${name}`]);
  return `${server}/${name}`;
}

async function measure(transportName) {
  const dir = mkdtempSync(join(tmpdir(), 'hookmcp-bench-'));
  let db = join(dir, 'events.db');
  let server;
  let other;  // mode nodes: node B, which takes the webhooks
  let client = new Client({ name: 'notify-latency', version: '1' });
  let port;
  let postPort;
  if (transportName === 'nodes') {
    db = freshPostgres();
    server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', db, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    port = await waitForPort(server.stderr);
    other = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', db, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    postPort = await waitForPort(other.stderr);
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  } else if (transportName === 'http') {
    server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', db, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    port = await waitForPort(server.stderr);
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  } else {
    const transport = new StdioClientTransport({ command: binary, args: ['stdio', '--listen', '127.0.0.1:0', '--db', db, '--log-level', 'info'], stderr: 'pipe' });
    const portPromise = waitForPort(transport.stderr);
    await client.connect(transport);
    port = await portPromise;
  }
  const sentAt = new Map();     // event id -> send time (ms, high resolution)
  const receivedAt = new Map(); // event id -> receive time, for notifications that beat their 202
  const latencies = [];
  client.fallbackNotificationHandler = async (n) => {
    if (n.method !== 'notifications/claude/channel') return;
    const now = performance.now();
    const id = Number(n.params.meta.event_id);
    if (sentAt.has(id)) latencies.push(now - sentAt.get(id));
    else receivedAt.set(id, now);
  };
  const { total, elapsed } = await offer(latencies, (i) => {
    const t0 = performance.now();
    return post(postPort ?? port, JSON.stringify({ type: 'bench.tick', n: i })).then((answer) => {
      sentAt.set(answer.id, t0);
      if (receivedAt.has(answer.id)) latencies.push(receivedAt.get(answer.id) - t0);
    });
  });
  await client.close();
  if (other) {
    other.kill('SIGTERM');
    await new Promise((r) => other.once('exit', r));
  }
  return finish(server, dir, latencies, total, elapsed);
}

// `hookmcp stdio` following a `hookmcp serve` on the same database (the serve holds the
// listener): POST to notification at the follower, and at a client of the holder itself over
// Streamable HTTP, in the same run on the same webhooks.
async function measureFollower() {
  const dir = mkdtempSync(join(tmpdir(), 'hookmcp-bench-'));
  const db = join(dir, 'events.db');
  const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', db, '--log-level', 'warn'],
                       { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await waitForPort(server.stderr);
  const holder = new Client({ name: 'notify-latency-holder', version: '1' });
  await holder.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  const follower = new Client({ name: 'notify-latency-follower', version: '1' });
  const transport = new StdioClientTransport({ command: binary, stderr: 'pipe',
    args: ['stdio', '--listen', `127.0.0.1:${port}`, '--db', db, '--log-level', 'info'] });
  const following = new Promise((resolve, reject) => {
    let text = '';
    transport.stderr.on('data', (c) => {
      text += c;
      if (/following/.test(text)) resolve();
    });
    setTimeout(() => reject(new Error(`the stdio process did not follow: ${text}`)), 10000);
  });
  await follower.connect(transport);
  await following;
  const sentAt = new Map();
  const lists = { holder: [], follower: [] };
  const heardAt = { holder: new Map(), follower: new Map() };  // event id -> receipt time
  const early = { holder: new Map(), follower: new Map() };  // heard before the POST's answer
  for (const [name, client] of [['holder', holder], ['follower', follower]]) {
    client.fallbackNotificationHandler = async (n) => {
      if (n.method !== 'notifications/claude/channel') return;
      const now = performance.now();
      const id = Number(n.params.meta.event_id);
      heardAt[name].set(id, now);
      if (sentAt.has(id)) lists[name].push(now - sentAt.get(id));
      else early[name].set(id, now);
    };
  }
  const both = { get length() { return Math.min(lists.holder.length, lists.follower.length); } };
  const { total, elapsed } = await offer(both, (i) => {
    const t0 = performance.now();
    return post(postPort ?? port, JSON.stringify({ type: 'bench.tick', n: i })).then((answer) => {
      sentAt.set(answer.id, t0);
      for (const name of ['holder', 'follower']) {
        if (early[name].has(answer.id)) lists[name].push(early[name].get(answer.id) - t0);
      }
    });
  });
  await follower.close();
  await holder.close();
  const holderResult = await finish(server, dir, lists.holder, total, elapsed);
  lists.follower.sort((a, b) => a - b);
  const f = lists.follower;
  // Per event: how long after the holder's own client the follower's heard of it (negative when
  // the follower's came first).
  const behind = [...heardAt.follower].filter(([id]) => heardAt.holder.has(id))
    .map(([id, t]) => t - heardAt.holder.get(id)).sort((a, b) => a - b);
  return { holder: holderResult,
           follower: { sent: total, received: f.length, rate: total / elapsed, p50: percentile(f, 50),
                       p99: percentile(f, 99), max: f.at(-1) },
           behind: { p50: percentile(behind, 50), p99: percentile(behind, 99), max: behind.at(-1) } };
}

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};

// Reads an SSE response, calling `heard(uri, time)` for each notifications/resources/updated
// and `opened()` once the stream is ready (at once, or on the acknowledgement of a listen).
// Both eras' streams go through this one reader, so that they differ only on the server.
function readUpdates(res, heard, waitForAck) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let acknowledged;
  const ack = new Promise((r) => { acknowledged = r; });
  if (!waitForAck) acknowledged();
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data:') || !line.slice(5).trim()) continue;  // priming events are empty
            const m = JSON.parse(line.slice(5));
            if (m.method === 'notifications/subscriptions/acknowledged') acknowledged();
            else if (m.method === 'notifications/resources/updated') heard(m.params.uri, performance.now());
          }
        }
      }
    } catch {
      // aborted at the end of the run
    }
  })();
  return ack;
}

// MCP 2026-07-28: subscriptions/listen for every source's feed. Resolves once acknowledged,
// with a function that ends the stream.
async function listen(port, uris, heard) {
  const controller = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    signal: controller.signal,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
               'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'subscriptions/listen' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscriptions/listen',
                           params: { _meta: META, notifications: { resourceSubscriptions: uris } } }),
  });
  await readUpdates(res, heard, true);
  return () => controller.abort();
}

// 2025-11-25: initialize, resources/subscribe for every feed, then the session's GET stream.
async function subscribeSession(port, uris, heard) {
  const url = `http://127.0.0.1:${port}/mcp`;
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  let id = 1;
  const rpc = async (method, params, extra = {}) => {
    const res = await fetch(url, { method: 'POST', headers: { ...headers, ...extra },
                                   body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params }) });
    await res.text();
    return res;
  };
  const init = await rpc('initialize', { protocolVersion: '2025-11-25', capabilities: {},
                                         clientInfo: { name: 'notify-latency', version: '1' } });
  const session = { 'Mcp-Session-Id': init.headers.get('mcp-session-id'), 'MCP-Protocol-Version': '2025-11-25' };
  await fetch(url, { method: 'POST', headers: { ...headers, ...session },
                     body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  for (const uri of uris) await rpc('resources/subscribe', { uri }, session);
  const controller = new AbortController();
  const res = await fetch(url, { method: 'GET', signal: controller.signal,
                                 headers: { Accept: 'text/event-stream', ...session } });
  await readUpdates(res, heard, false);
  return () => controller.abort();
}

// Resource updates per source feed, on the old era's GET stream or the 2026 listen stream.
async function measureFeeds(era) {
  const dir = mkdtempSync(join(tmpdir(), 'hookmcp-bench-'));
  const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', join(dir, 'events.db'), '--log-level', 'warn'],
                       { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await waitForPort(server.stderr);
  const sources = Array.from({ length: sourceCount }, (_, i) => `bench${i}`);
  const uris = sources.map((s) => `hookmcp://sources/${s}`);
  const waiting = new Map(sources.map((s) => [s, []]));  // source -> send times not yet heard of
  const latencies = [];
  const heard = (uri, now) => {
    const queue = waiting.get(uri.slice('hookmcp://sources/'.length));
    if (queue && queue.length) latencies.push(now - queue.shift());
  };
  const stop = era === 'http-listen' ? await listen(port, uris, heard)
                                      : await subscribeSession(port, uris, heard);
  const { total, elapsed } = await offer(latencies, (i) => {
    const source = sources[i % sources.length];
    waiting.get(source).push(performance.now());
    return post(port, JSON.stringify({ type: 'bench.tick', n: i }), source);
  });
  await stop();
  return finish(server, dir, latencies, total, elapsed);
}

const modes = (process.env.MODES ?? 'http,stdio,http-get,http-listen,follower').split(',');
for (const t of modes) {
  if (t === 'follower') {
    const results = [];
    for (let r = 0; r < runs; r++) {
      const res = await measureFollower();
      results.push(res);
      for (const side of ['holder', 'follower']) {
        const x = res[side];
        console.log(`follower run ${r + 1} ${side}: sent=${x.sent} received=${x.received} p50=${x.p50.toFixed(2)}ms p99=${x.p99.toFixed(2)}ms max=${x.max.toFixed(2)}ms`);
      }
      console.log(`follower run ${r + 1} behind the holder: p50=${res.behind.p50.toFixed(2)}ms p99=${res.behind.p99.toFixed(2)}ms max=${res.behind.max.toFixed(2)}ms`);
    }
    console.log(`RESULT follower behind holder, per event: median p50=${median(results.map((r) => r.behind.p50)).toFixed(2)}ms ` +
                `median p99=${median(results.map((r) => r.behind.p99)).toFixed(2)}ms`);
    for (const side of ['holder', 'follower']) {
      console.log(`RESULT follower/${side}: median p50=${median(results.map((r) => r[side].p50)).toFixed(2)}ms ` +
                  `median p99=${median(results.map((r) => r[side].p99)).toFixed(2)}ms ` +
                  `received=${results.map((r) => `${r[side].received}/${r[side].sent}`).join(',')}`);
    }
    continue;
  }
  const results = [];
  for (let r = 0; r < runs; r++) {
    const res = t.startsWith('http-') ? await measureFeeds(t) : await measure(t);
    results.push(res);
    console.log(`${t} run ${r + 1}: sent=${res.sent} received=${res.received} rate=${res.rate.toFixed(0)}/s p50=${res.p50.toFixed(2)}ms p99=${res.p99.toFixed(2)}ms max=${res.max.toFixed(2)}ms`);
  }
  console.log(`RESULT ${t}: median p50=${median(results.map((r) => r.p50)).toFixed(2)}ms median p99=${median(results.map((r) => r.p99)).toFixed(2)}ms ` +
              `received=${results.map((r) => `${r.received}/${r.sent}`).join(',')}`);
}
agent.destroy();
