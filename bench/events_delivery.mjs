// MCP Events' webhook mode, measured on the real binary (`hookmcp serve`, allow_private_callbacks
// so that the receivers may be on loopback). Three measures:
//   latency  one webhook subscriber, webhooks POSTed at RATE/s for SECONDS: from the moment a
//            POST is sent to the moment its delivery reaches the receiver (the intake's fsync,
//            the commit, the read by cursor, the signed POST are all inside), p50 and p99.
//   fanout   SUBSCRIBERS subscriptions on one source at RATE/s: the intake's achieved rate and
//            latency against the same run with no subscriber (the reference: the same rows,
//            durability and offered load), deliveries made meanwhile, the server's peak RSS.
//   catchup  a subscriber down for DOWN seconds while webhooks arrive at RATE/s, then back: how
//            long until it has every event, in order, and the server's peak RSS meanwhile.
//
// Usage: node bench/events_delivery.mjs latency [RATE=1000] [SECONDS=5] [RUNS=3]
//        node bench/events_delivery.mjs fanout [SUBSCRIBERS=1000] [RATE=100] [SECONDS=10] [RUNS=3]
//        node bench/events_delivery.mjs catchup [DOWN_S=600] [RATE=500]
// (from the repository root, after scripts/build.sh)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const binary = process.env.HOOKMCP_BINARY ?? new URL('../build/hookmcp', import.meta.url).pathname;
const mode = process.argv[2] ?? 'latency';
const arg = (i, d) => Number(process.argv[i] ?? d);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'hookmcp-bench-events-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ events: { allow_private_callbacks: true, max_subscriptions_per_principal: 100000 } }));
  const child = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', join(dir, 'events.db'),
    '--config', join(dir, 'config.json'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (c) => {
      text += c;
      const m = text.match(/listening on http:\/\/\S*:(\d+)\s/);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(text)));
  });
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const m = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch { /* exited */ }
  }, 200);
  return {
    port,
    peakMb: () => peak,
    async stop() {
      clearInterval(sampler);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function subscribe(port, url, source) {
  const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'events/subscribe' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'events/subscribe', params: { _meta: META,
      name: 'webhook.received', arguments: { source }, cursor: null, ttlMs: 3_600_000,
      delivery: { mode: 'webhook', url, secret: `whsec_${randomBytes(32).toString('base64')}` } } }),
  });
  const text = await res.text();
  if (!text.includes('"result"')) throw new Error(`subscribe failed: ${text}`);
}

// One receiver for every subscription: answers challenges, counts deliveries per path, and tells
// `onEvent` of each (its payload and the path). `up` false: it refuses connections.
async function startReceiver(onEvent, port = 0) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      if (body.type === 'verification') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ challenge: body.challenge }));
        return;
      }
      res.writeHead(204).end();
      if (body.data) onEvent(body.data, req.url, req.headers['webhook-id']);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { server, port: server.address().port, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
function post(port, source, payload) {
  const body = JSON.stringify(payload);
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path: `/hooks/${source}`, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 202, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('error', () => resolve({ ok: false, ms: 0 }));
    req.end(body);
  });
}

// POSTs at `rate`/s for `seconds`, paced by the clock; resolves with the intake's figures.
async function drive(port, source, rate, seconds, payloadOf = (seq) => ({ seq })) {
  const total = Math.round(rate * seconds);
  const start = Date.now();
  const results = [];
  const pending = [];
  for (let seq = 0; seq < total; ++seq) {
    const due = start + (seq * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    pending.push(post(port, source, payloadOf(seq)).then((r) => results.push(r)));
  }
  await Promise.all(pending);
  const elapsed = (Date.now() - start) / 1000;
  const lat = results.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b);
  return { sent: total, ok: lat.length, rate: lat.length / elapsed, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function latency() {
  const rate = arg(3, 1000);
  const seconds = arg(4, 5);
  const runs = arg(5, 3);
  const p50s = [];
  const p99s = [];
  for (let run = 1; run <= runs; ++run) {
    const sentAt = new Map();
    const took = [];
    const receiver = await startReceiver((data) => {
      const t = sentAt.get(data.payload.seq);
      if (t !== undefined) took.push(Number(process.hrtime.bigint() - t) / 1e6);
    });
    const server = await startServer();
    await subscribe(server.port, `http://127.0.0.1:${receiver.port}/in`, 'bench');
    const intake = await drive(server.port, 'bench', rate, seconds, (seq) => {
      sentAt.set(seq, process.hrtime.bigint());
      return { seq };
    });
    const deadline = Date.now() + 10_000;
    while (took.length < intake.ok && Date.now() < deadline) await sleep(50);
    took.sort((a, b) => a - b);
    const [p50, p99] = [percentile(took, 50), percentile(took, 99)];
    p50s.push(p50);
    p99s.push(p99);
    console.log(`run ${run}: ${took.length} of ${intake.ok} delivered; POST to delivery p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms; peak RSS ${server.peakMb().toFixed(1)} MB`);
    await server.stop();
    await receiver.close();
  }
  console.log(`latency at ${rate}/s, median of ${runs} runs: p50 ${median(p50s).toFixed(2)} ms, p99 ${median(p99s).toFixed(2)} ms`);
}

async function fanout() {
  const subscribers = arg(3, 1000);
  const rate = arg(4, 100);
  const seconds = arg(5, 10);
  const runs = arg(6, 3);
  const ratios = [];
  for (let run = 1; run <= runs; ++run) {
    // The reference: the same server, rows and offered load, no subscriber.
    const bare = await startServer();
    const without = await drive(bare.port, 'bench', rate, seconds);
    await bare.stop();

    let delivered = 0;
    const receiver = await startReceiver(() => { delivered += 1; });
    const server = await startServer();
    for (let i = 0; i < subscribers; ++i) await subscribe(server.port, `http://127.0.0.1:${receiver.port}/r/${i}`, 'bench');
    const withSubs = await drive(server.port, 'bench', rate, seconds);
    const ratio = withSubs.rate / without.rate;
    ratios.push(ratio);
    console.log(`run ${run}: intake ${withSubs.rate.toFixed(1)}/s with ${subscribers} subscribers against ${without.rate.toFixed(1)}/s without (ratio ${ratio.toFixed(3)}); ` +
      `intake p50/p99 ${withSubs.p50.toFixed(2)}/${withSubs.p99.toFixed(2)} ms against ${without.p50.toFixed(2)}/${without.p99.toFixed(2)} ms; ` +
      `${delivered} of ${withSubs.ok * subscribers} deliveries made by the end of the load; peak RSS ${server.peakMb().toFixed(1)} MB`);
    await server.stop();
    await receiver.close();
  }
  console.log(`fanout: intake ratio with ${subscribers} subscribers, median of ${runs} runs: ${median(ratios).toFixed(3)}`);
}

async function catchup() {
  const down = arg(3, 600);
  const rate = arg(4, 500);
  const seen = new Set();
  let inOrder = true;
  let last = 0;
  let receiver = await startReceiver(() => {});
  const port = receiver.port;
  const server = await startServer();
  await subscribe(server.port, `http://127.0.0.1:${port}/in`, 'bench');
  await receiver.close();
  console.log(`receiver down; ${rate}/s for ${down} s`);
  const intake = await drive(server.port, 'bench', rate, down);
  const back = Date.now();
  receiver = await startReceiver((data) => {
    if (!seen.has(data.id)) {
      if (data.id < last) inOrder = false;
      last = data.id;
      seen.add(data.id);
    }
  }, port);
  // The first retry after a long failure is up to an hour away; a refresh makes it try at once,
  // as the client of a receiver that comes back does.
  await subscribe(server.port, `http://127.0.0.1:${port}/in`, 'bench');
  while (seen.size < intake.ok) {
    await sleep(200);
    if (Date.now() - back > 1_800_000) break;
  }
  const took = (Date.now() - back) / 1000;
  console.log(`caught up: ${seen.size} of ${intake.ok} stored events in ${took.toFixed(1)} s after the receiver came back ` +
    `(${(seen.size / took).toFixed(0)}/s), in order: ${inOrder}; peak RSS ${server.peakMb().toFixed(1)} MB`);
  await server.stop();
  await receiver.close();
}

await { latency, fanout, catchup }[mode]();
agent.destroy();
