// MCP Events against the real binary, through raw JSON-RPC: poll and push over Streamable HTTP
// and stdio; webhook subscriptions delivered to a receiver that checks every POST with the
// standardwebhooks library; callbacks refused (forged, redirected, private); a receiver down for
// a while; 410; kill -9 of hookmcp while a subscriber receives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

import { binary, startServe, tempDir, waitForPort } from './lib/hookmcp.mjs';
import { META, PRIVATE, SUB, VERSION, hook, rpc, secret, sleep, startReceiver } from './lib/events.mjs';
import { sseFrames } from './lib/sse.mjs';

function subscriptionsJson(db) {
  return JSON.parse(execFileSync(binary, ['subscriptions', 'list', '--json', '--db', db]).toString());
}

test('poll over HTTP: from now, then each matching event once, by cursor', async (t) => {
  const server = await startServe();
  t.after(() => server.stop());
  const list = await rpc(server.url, 'events/list');
  assert.equal(list.result.events[0].name, 'webhook.received');
  assert.deepEqual(list.result.events[0].delivery, ['poll', 'push', 'webhook']);
  const discover = await rpc(server.url, 'server/discover');
  assert.ok(discover.result.capabilities.extensions['io.modelcontextprotocol/events']);
  assert.ok(discover.result.capabilities.events);

  const first = await rpc(server.url, 'events/poll', { name: 'webhook.received', arguments: { source: 'gh' }, cursor: null });
  assert.deepEqual(first.result.events, []);
  const a = await hook(server.url, 'gh', { action: 'opened', n: 1 });
  await hook(server.url, 'other', { n: 2 });
  const c = await hook(server.url, 'gh', { action: 'closed', n: 3 });
  const second = await rpc(server.url, 'events/poll', { name: 'webhook.received', arguments: { source: 'gh' }, cursor: first.result.cursor });
  assert.deepEqual(second.result.events.map((e) => e.data.id), [a, c]);
  assert.equal(second.result.events[0].eventId, `evt_${a}`);
  assert.deepEqual(second.result.events[1].data.payload, { action: 'closed', n: 3 });
  assert.equal(second.result.hasMore, false);
  assert.equal(second.result.resultType, 'complete');
  const bad = await rpc(server.url, 'events/poll', { name: 'webhook.received', arguments: { colour: 'red' } });
  assert.equal(bad.error.code, -32602);
  assert.match(bad.error.message, /arguments\.colour/);
});

test('push over HTTP: active, then each matching event as it is stored, resumable by cursor', async (t) => {
  const server = await startServe();
  t.after(() => server.stop());
  const before = await hook(server.url, 'gh', { n: 0 });
  const controller = new AbortController();
  const res = await fetch(`${server.url}/mcp`, {
    method: 'POST',
    signal: controller.signal,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': VERSION, 'Mcp-Method': 'events/stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'push-1', method: 'events/stream',
      params: { _meta: META, name: 'webhook.received', arguments: { source: 'gh' }, cursor: String(before - 1) } }),
  });
  t.after(() => controller.abort());
  assert.equal(res.status, 200);
  const frames = sseFrames(res);
  const active = await frames.next();
  assert.equal(active.method, 'notifications/events/active');
  assert.equal(active.params._meta[SUB], 'push-1');
  const replayed = await frames.next();
  assert.equal(replayed.params.data.id, before);
  const started = Date.now();
  const live = await hook(server.url, 'gh', { n: 1 });
  const pushed = await frames.next();
  assert.equal(pushed.method, 'notifications/events/event');
  assert.equal(pushed.params.data.id, live);
  assert.equal(pushed.params.cursor, String(live));
  assert.ok(Date.now() - started < 2000);
});

test('push and poll over stdio', async (t) => {
  const dir = tempDir();
  const child = spawn(binary, ['stdio', '--listen', '127.0.0.1:0', '--db', dir.file('events.db')], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => { child.kill('SIGTERM'); dir.cleanup(); });
  const port = await waitForPort(child);
  const lines = createInterface({ input: child.stdout });
  const seen = [];
  let wake = () => {};
  lines.on('line', (line) => { seen.push(JSON.parse(line)); wake(); });
  const take = async (pred, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = seen.findIndex(pred);
      if (i >= 0) return seen.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error('nothing matched on stdout');
      await new Promise((r) => { wake = r; setTimeout(r, 50); });
    }
  };
  const send = (m) => child.stdin.write(`${JSON.stringify(m)}\n`);
  send({ jsonrpc: '2.0', id: 1, method: 'events/stream', params: { _meta: META, name: 'webhook.received' } });
  const active = await take((m) => m.method === 'notifications/events/active');
  assert.equal(active.params._meta[SUB], 1);
  const id = await hook(`http://127.0.0.1:${port}`, 'ci', { status: 'green' });
  const event = await take((m) => m.method === 'notifications/events/event');
  assert.equal(event.params.data.id, id);
  assert.deepEqual(event.params.data.payload, { status: 'green' });
  send({ jsonrpc: '2.0', id: 2, method: 'events/poll', params: { _meta: META, name: 'webhook.received', cursor: '0' } });
  const polled = await take((m) => m.id === 2);
  assert.deepEqual(polled.result.events.map((e) => e.data.id), [id]);
  send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } });
});

test('webhook mode: verified, then each event signed with the subscription secret, in order', async (t) => {
  const key = secret();
  const receiver = await startReceiver({ secretKey: key });
  const server = await startServe({ config: { ...PRIVATE, mcp: { tokens: [{ token: 'tok-alice', principal: 'alice' }] } } });
  t.after(async () => { await server.stop(); await receiver.close(); });
  const auth = { Authorization: 'Bearer tok-alice' };
  const sub = await rpc(server.url, 'events/subscribe', {
    name: 'webhook.received', arguments: { source: 'gh' },
    delivery: { mode: 'webhook', url: receiver.url, secret: key }, ttlMs: 600000,
  }, auth);
  assert.ok(sub.result, JSON.stringify(sub));
  assert.match(sub.result.id, /^sub_[0-9a-f]{24}$/);
  assert.ok(Date.parse(sub.result.refreshBefore) > Date.now());
  const ids = [];
  for (let i = 0; i < 20; ++i) ids.push(await hook(server.url, i % 2 ? 'gh' : 'other', { i }));
  const wanted = ids.filter((_, i) => i % 2);
  await receiver.until((got) => got.length >= wanted.length);
  assert.deepEqual(receiver.got.map((g) => g.body.data.id), wanted);
  for (const g of receiver.got) {
    assert.equal(g.id, g.body.eventId);
    assert.equal(g.sub, sub.result.id);
  }
  // Subscribing again refreshes (same id); another principal cannot end it.
  const again = await rpc(server.url, 'events/subscribe', {
    name: 'webhook.received', arguments: { source: 'gh' }, delivery: { mode: 'webhook', url: receiver.url, secret: key },
  }, auth);
  assert.equal(again.result.id, sub.result.id);
  assert.equal(again.result.deliveryStatus.active, true);
  // Progress reaches the database with the writer's next round.
  let listed = subscriptionsJson(server.dir.file('events.db'));
  for (let i = 0; i < 50 && listed[0].delivered < wanted.length; ++i) {
    await sleep(50);
    listed = subscriptionsJson(server.dir.file('events.db'));
  }
  assert.equal(listed.length, 1);
  assert.equal(listed[0].principal, 'alice');
  assert.equal(listed[0].delivered, wanted.length);
  assert.equal(JSON.stringify(listed).includes(key), false, 'the secret is never listed');
  const gone = await rpc(server.url, 'events/unsubscribe', {
    name: 'webhook.received', arguments: { source: 'gh' }, delivery: { url: receiver.url },
  }, auth);
  assert.deepEqual(gone.result, { resultType: 'complete' });
  const twice = await rpc(server.url, 'events/unsubscribe', {
    name: 'webhook.received', arguments: { source: 'gh' }, delivery: { url: receiver.url },
  }, auth);
  assert.equal(twice.error.code, -32023);
  await hook(server.url, 'gh', { after: true });
  await sleep(300);
  assert.deepEqual([...new Set(receiver.got.map((g) => g.body.data.id))], wanted);
  assert.ok(receiver.got.every((g) => !g.body.data.payload.after), 'nothing after unsubscribe');
});

test('events pruned before their delivery: a gap envelope, then what is left', async (t) => {
  const key = secret();
  let receiver = await startReceiver({ secretKey: key });
  const port = receiver.port;
  const server = await startServe({ config: { ...PRIVATE, retention: { max_events: 3 } } });
  t.after(async () => { await server.stop(); await receiver.close(); });
  const subscribe = () => rpc(server.url, 'events/subscribe', {
    name: 'webhook.received', delivery: { mode: 'webhook', url: receiver.url, secret: key },
  });
  assert.ok((await subscribe()).result);
  await receiver.close();
  const ids = [];
  for (let i = 0; i < 10; ++i) ids.push(await hook(server.url, 'ci', { i }));
  // Retention keeps the newest 3, a second or so later.
  for (let i = 0; i < 50; ++i) {
    const poll = await rpc(server.url, 'events/poll', { name: 'webhook.received', cursor: '0' });
    if (poll.result.truncated && poll.result.events.length === 3) break;
    await sleep(100);
  }
  receiver = await startReceiver({ secretKey: key, port });
  const refreshed = await subscribe();  // a refresh: the failing subscription tries at once
  assert.equal(refreshed.result.deliveryStatus.active, false);
  await receiver.until((got) => got.length >= 4, 20000);
  const [gap, ...rest] = receiver.got;
  assert.equal(gap.body.type, 'gap');
  assert.equal(gap.body.cursor, String(ids[6]));
  assert.match(gap.id, /^msg_gap_/);
  assert.deepEqual(rest.map((g) => g.body.data.id), ids.slice(7));
});

test('callbacks that are forged, redirected or private are refused', async (t) => {
  const key = secret();
  // A receiver that answers the challenge wrongly, one that redirects.
  const liar = createServer((req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"challenge":"nope"}'));
  const redirect = createServer((req, res) => res.writeHead(307, { Location: 'http://169.254.169.254/' }).end());
  await new Promise((r) => liar.listen(0, '127.0.0.1', r));
  await new Promise((r) => redirect.listen(0, '127.0.0.1', r));
  const open = await startServe({ config: PRIVATE });
  const strict = await startServe();
  t.after(async () => { await open.stop(); await strict.stop(); liar.close(); redirect.close(); });
  const subscribe = (server, url) => rpc(server.url, 'events/subscribe', {
    name: 'webhook.received', delivery: { mode: 'webhook', url, secret: key },
  });
  const forged = await subscribe(open, `http://127.0.0.1:${liar.address().port}/`);
  assert.equal(forged.error.code, -32027);
  assert.equal(forged.error.data.reason, 'challenge_failed');
  const moved = await subscribe(open, `http://127.0.0.1:${redirect.address().port}/`);
  assert.equal(moved.error.code, -32027, JSON.stringify(moved));
  const plain = await subscribe(strict, `http://127.0.0.1:${liar.address().port}/`);
  assert.equal(plain.error.code, -32602);
  assert.match(plain.error.message, /https/);
  const loopback = await subscribe(strict, `https://127.0.0.1:${liar.address().port}/`);
  assert.equal(loopback.error.code, -32027);
  assert.match(loopback.error.message, /loopback/);
  const metadata = await subscribe(strict, 'https://169.254.169.254/latest');
  assert.match(metadata.error.message, /link-local/);
  const badSecret = await rpc(open.url, 'events/subscribe', {
    name: 'webhook.received', delivery: { mode: 'webhook', url: 'http://127.0.0.1:1/', secret: 'whsec_c2hvcnQ=' },
  });
  assert.equal(badSecret.error.code, -32602);
  assert.equal(subscriptionsJson(open.dir.file('events.db')).length, 0);
});

test('a receiver down for a while gets everything once back; 410 ends the subscription', async (t) => {
  const key = secret();
  let receiver = await startReceiver({ secretKey: key });
  const port = receiver.port;
  const server = await startServe({ config: PRIVATE });
  t.after(async () => { await server.stop(); await receiver.close(); });
  const sub = await rpc(server.url, 'events/subscribe', {
    name: 'webhook.received', delivery: { mode: 'webhook', url: receiver.url, secret: key },
  });
  assert.ok(sub.result, JSON.stringify(sub));
  await receiver.close();
  const ids = [];
  for (let i = 0; i < 5; ++i) ids.push(await hook(server.url, 'ci', { i }));
  await sleep(1500);
  const failing = subscriptionsJson(server.dir.file('events.db'))[0];
  assert.equal(failing.state, 'failing');
  assert.equal(failing.last_error, 'connection_refused');
  let gone = false;
  receiver = await startReceiver({ secretKey: key, port, answer: (b) => (gone ? 410 : 204) });
  await receiver.until((got) => got.length >= ids.length, 20000);
  assert.deepEqual(receiver.got.map((g) => g.body.data.id), ids);
  gone = true;
  await hook(server.url, 'ci', { last: true });
  for (let i = 0; i < 50 && subscriptionsJson(server.dir.file('events.db'))[0].state !== 'ended'; ++i) await sleep(100);
  const ended = subscriptionsJson(server.dir.file('events.db'))[0];
  assert.equal(ended.state, 'ended');
  assert.match(ended.end_reason, /410/);
});

test('kill -9 while a subscriber receives: every stored event reaches it, in order', async (t) => {
  const key = secret();
  const receiver = await startReceiver({ secretKey: key });
  const dir = tempDir();
  const db = dir.file('events.db');
  writeConfig(dir, PRIVATE);
  const start = async (listen) => {
    const child = spawn(binary, ['serve', '--listen', listen, '--db', db, '--config', dir.file('config.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const port = await waitForPort(child);
    return { child, port, url: `http://127.0.0.1:${port}` };
  };
  let node = await start('127.0.0.1:0');
  const port = node.port;
  t.after(async () => { node.child.kill('SIGKILL'); await receiver.close(); dir.cleanup(); });
  const sub = await rpc(node.url, 'events/subscribe', {
    name: 'webhook.received', delivery: { mode: 'webhook', url: receiver.url, secret: key },
  });
  assert.ok(sub.result, JSON.stringify(sub));
  const stored = [];
  const post = async (i) => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/hooks/load`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ i }) });
      if (res.status === 202) stored.push((await res.json()).id);
    } catch { /* the process was killed under this request: not acknowledged */ }
  };
  let i = 0;
  const burst = async (n) => { const all = []; for (let k = 0; k < n; ++k) all.push(post(i++)); await Promise.all(all); };
  await burst(100);
  const killing = (async () => { await sleep(30); node.child.kill('SIGKILL'); })();
  await Promise.all([burst(100), killing]);
  await new Promise((r) => (node.child.exitCode !== null || node.child.signalCode ? r() : node.child.once('exit', r)));
  node = await start(`127.0.0.1:${port}`);
  await burst(50);
  await receiver.until((got) => stored.every((id) => got.some((g) => g.body.data.id === id)), 30000);
  // In order of first arrival; a repeat is the same event again, with the same webhook-id.
  const firsts = [];
  const bodies = new Map();
  for (const g of receiver.got) {
    const id = g.body.data.id;
    assert.equal(g.id, `evt_${id}`);
    if (bodies.has(g.id)) {
      assert.equal(bodies.get(g.id), g.raw, 'a repeat carries the same event');
    } else {
      bodies.set(g.id, g.raw);
      firsts.push(id);
    }
  }
  assert.deepEqual(firsts, [...firsts].sort((a, b) => a - b), 'first arrivals are in store order');
  const repeats = receiver.got.length - firsts.length;
  t.diagnostic(`${stored.length} acknowledged, ${firsts.length} delivered, ${repeats} repeated after kill -9`);
});

function writeConfig(dir, config) {
  execFileSync('sh', ['-c', `cat > '${dir.file('config.json')}'`], { input: JSON.stringify(config) });
}
