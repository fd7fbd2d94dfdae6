// Worker thread of bench/lib/listeners.mjs: opens its share of Streamable HTTP MCP sessions with
// raw HTTP (no SDK: a thousand SDK clients are too heavy for one small machine), holds each
// session's GET /mcp stream, and counts the notifications/claude/channel each one receives.
//
// A session is opened the way the SDK client of bench/notify_latency.mjs opens it: POST
// initialize (Accept: application/json, text/event-stream), read Mcp-Session-Id, POST
// notifications/initialized, then GET /mcp for the standalone SSE stream. The server pushes a
// claude/channel notification for every stored event to every initialized session; no further
// request is needed. A session counts as connected once its stream's priming event (id "N-0")
// has arrived, i.e. once the server has attached the stream.
import { parentPort, workerData } from 'node:worker_threads';
import http from 'node:http';

const { port, sessions, maxId, protocolVersion, sentAt, counters, timeBase, setupConcurrency } = workerData;
const sentAtMs = new Float64Array(sentAt);       // event id -> POST send time (ms since timeBase), 0 until its 202
const shared = new Int32Array(counters);         // [0] distinct notifications received, all sessions
const now = () => performance.timeOrigin - timeBase + performance.now();

const kMarker = '"method":"notifications/claude/channel"';
const kEventId = '"event_id":"';

// Latencies in ms; receipts that arrived before their POST's 202 wait in `early*`.
let latencies = new Float64Array(1 << 20);
let latencyCount = 0;
let earlyIds = new Int32Array(1 << 16);
let earlyTimes = new Float64Array(1 << 16);
let earlyCount = 0;
function grow(a) { const b = new a.constructor(a.length * 2); b.set(a); return b; }
function addLatency(v) {
  if (latencyCount === latencies.length) latencies = grow(latencies);
  latencies[latencyCount++] = v;
}

class Listener {
  constructor() {
    this.sessionId = null;
    this.seen = new Uint8Array(maxId + 1);
    this.distinct = 0;
    this.duplicates = 0;
    this.outOfRange = 0;
    this.lastEventId = null;
    this.buffer = '';
    this.ended = false;       // the server ended or cut the stream
    this.error = null;
    this.response = null;
  }

  onEvent(block, t) {
    // id line first ("id: 3-17"), then data; comments (": keep-alive") carry nothing.
    if (block.startsWith('id: ')) {
      const nl = block.indexOf('\n');
      this.lastEventId = block.slice(4, nl === -1 ? block.length : nl);
    }
    if (block.indexOf(kMarker) === -1) return;
    const at = block.indexOf(kEventId);
    if (at === -1) return;
    const id = parseInt(block.slice(at + kEventId.length, at + kEventId.length + 20), 10);
    if (!(id >= 1 && id <= maxId)) { this.outOfRange++; return; }
    if (this.seen[id]) { this.duplicates++; return; }
    this.seen[id] = 1;
    this.distinct++;
    Atomics.add(shared, 0, 1);
    const sent = sentAtMs[id];
    if (sent > 0) {
      addLatency(t - sent);
    } else {
      if (earlyCount === earlyIds.length) { earlyIds = grow(earlyIds); earlyTimes = grow(earlyTimes); }
      earlyIds[earlyCount] = id;
      earlyTimes[earlyCount++] = t;
    }
  }

  onData(chunk) {
    const t = now();
    let buf = this.buffer + chunk;
    let start = 0;
    let end;
    while ((end = buf.indexOf('\n\n', start)) !== -1) {
      this.onEvent(buf.slice(start, end), t);
      start = end + 2;
    }
    this.buffer = buf.slice(start);
  }
}

const setupAgent = new http.Agent({ keepAlive: true, maxSockets: setupConcurrency });

function mcpPost(listener, message) {
  const body = JSON.stringify(message);
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
                    'Content-Length': Buffer.byteLength(body) };
  if (listener.sessionId) {
    headers['Mcp-Session-Id'] = listener.sessionId;
    headers['MCP-Protocol-Version'] = protocolVersion;
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', agent: setupAgent, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function open(listener) {
  const init = await mcpPost(listener, { jsonrpc: '2.0', id: 1, method: 'initialize', params: {
    protocolVersion, capabilities: {}, clientInfo: { name: 'bench-sessions', version: '1' } } });
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status} ${init.body.slice(0, 200)}`);
  listener.sessionId = init.headers['mcp-session-id'];
  if (!listener.sessionId) throw new Error('initialize: no Mcp-Session-Id');
  // The answer comes as SSE (or JSON): find the result.
  const json = init.body.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => l.slice(6))[0] ?? init.body;
  if (!JSON.parse(json).result) throw new Error(`initialize: ${json.slice(0, 200)}`);
  const note = await mcpPost(listener, { jsonrpc: '2.0', method: 'notifications/initialized' });
  if (note.status !== 202) throw new Error(`notifications/initialized: HTTP ${note.status} ${note.body.slice(0, 200)}`);

  await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'GET', agent: false,
      headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': listener.sessionId, 'MCP-Protocol-Version': protocolVersion } }, (res) => {
      if (res.statusCode !== 200) {
        let data = '';
        res.on('data', (c) => { data += c; });
        res.on('end', () => reject(new Error(`GET /mcp: HTTP ${res.statusCode} ${data.slice(0, 200)}`)));
        return;
      }
      listener.response = res;
      res.setEncoding('utf8');
      let primed = false;
      res.on('data', (c) => {
        listener.onData(c);
        if (!primed && listener.lastEventId !== null) { primed = true; resolve(); }
      });
      res.on('end', () => { listener.ended = true; if (!primed) reject(new Error('GET /mcp: stream ended before its priming event')); });
      res.on('error', (e) => { listener.ended = true; listener.error = e.message; });
    });
    req.on('error', (e) => { listener.ended = true; listener.error = e.message; reject(e); });
    req.end();
  });
}

const listeners = Array.from({ length: sessions }, () => new Listener());
const failures = [];
let next = 0;
async function opener() {
  while (next < listeners.length) {
    const l = listeners[next++];
    try {
      await open(l);
    } catch (e) {
      l.error = e.message;
      failures.push(e.message);
    }
  }
}
await Promise.all(Array.from({ length: Math.min(setupConcurrency, sessions) }, opener));
setupAgent.destroy();
const connected = listeners.filter((l) => l.lastEventId !== null && !l.error);
parentPort.postMessage({ type: 'ready', connected: connected.length, failures });

parentPort.on('message', (msg) => {
  if (msg.type !== 'finish') return;
  // Receipts that beat their 202: the send time is known now.
  let unmatched = 0;
  for (let i = 0; i < earlyCount; i++) {
    const sent = sentAtMs[earlyIds[i]];
    if (sent > 0) addLatency(earlyTimes[i] - sent);
    else unmatched++;
  }
  const out = latencies.slice(0, latencyCount);
  const result = {
    type: 'result',
    perSession: connected.map((l) => l.distinct),
    duplicates: connected.reduce((s, l) => s + l.duplicates, 0),
    outOfRange: connected.reduce((s, l) => s + l.outOfRange, 0),
    streamsEnded: connected.filter((l) => l.ended).length,
    streamErrors: [...new Set(connected.filter((l) => l.error).map((l) => l.error))],
    unmatched,
    latencies: out,
  };
  for (const l of listeners) l.response?.destroy();
  parentPort.postMessage(result, [out.buffer]);
  parentPort.close();
});
