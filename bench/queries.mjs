// Query latency of the MCP tools on a large database, and how fast `hookmcp stdio` answers
// initialize after it is started. Drives the real binary over stdio with JSON-RPC lines.
//
// Usage: node bench/queries.mjs DB_PATH [REPEATS=200]
//   (fill DB_PATH first: build/fill_store DB_PATH 1000000)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const binary = process.env.HOOKMCP_BINARY ?? new URL('../build/hookmcp', import.meta.url).pathname;
const db = process.argv[2];
const repeats = Number(process.argv[3] ?? 200);
if (!db) {
  console.error('usage: node bench/queries.mjs DB_PATH [REPEATS]');
  process.exit(2);
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

// A JSON-RPC peer over a child's stdin/stdout.
function start() {
  const t0 = performance.now();
  const child = spawn(binary, ['stdio', '--db', db, '--listen', '127.0.0.1:0', '--log-level', 'warn'],
    { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting = new Map();
  let next = 1;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const m = JSON.parse(line);
    if (m.id !== undefined && waiting.has(m.id)) {
      waiting.get(m.id)(m);
      waiting.delete(m.id);
    }
  });
  const call = (method, params) => new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  });
  return { child, call, t0 };
}

async function initialize(peer) {
  const r = await peer.call('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
  peer.child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
  return r;
}

async function stop(peer) {
  const exited = new Promise((r) => peer.child.once('exit', r));
  peer.child.stdin.end();
  await exited;
}

// Start-to-initialize-answer, several times.
const inits = [];
for (let i = 0; i < 10; i++) {
  const peer = start();
  await initialize(peer);
  inits.push(performance.now() - peer.t0);
  await stop(peer);
}
console.log(`RESULT stdio_initialize p50=${pct(inits, 50).toFixed(1)}ms max=${Math.max(...inits).toFixed(1)}ms (10 starts)`);

const peer = start();
await initialize(peer);
async function time(name, method, params) {
  const ms = [];
  let last;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    last = await peer.call(method, params(i));
    ms.push(performance.now() - t);
  }
  if (last.error || last.result?.isError) throw new Error(`${name}: ${JSON.stringify(last).slice(0, 300)}`);
  console.log(`RESULT ${name} p50=${pct(ms, 50).toFixed(2)}ms p99=${pct(ms, 99).toFixed(2)}ms (${repeats} calls)`);
  return last;
}
const listed = await time('list_events(source,type)', 'tools/call', () => ({ name: 'list_events', arguments: { source: 'github', type: 'pull_request' } }));
const newest = listed.result.structuredContent.events[0].id;
const words = ['deploy', 'refund', 'rollback', 'incident', 'checkout'];
await time('search_events(full text)', 'tools/call', (i) => ({ name: 'search_events', arguments: { query: `${words[i % 5]} timeout` } }));
await time('get_event', 'tools/call', (i) => ({ name: 'get_event', arguments: { id: Math.max(1, newest - i * 997) } }));
await stop(peer);
