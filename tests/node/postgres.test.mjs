// hookmcp on PostgreSQL, several processes on one database (a server the test starts): a
// webhook stored by one node reaches an MCP client of another (claude/channel and
// wait_for_event), the same delivery POSTed to two nodes at once is stored once, and `hookmcp
// stdio` whose address another node holds hears of that node's events without following a file;
// three nodes share MCP Events webhook subscriptions: each event reaches the receiver once while
// nodes are killed and restarted, and a subscription made on one node is refreshed and ended
// through the others; connections are kept by one node at a time and taken over when it stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { binary, freePort, servePublic, startServe, tempDir } from './lib/hookmcp.mjs';
import { startFakeProviders } from './lib/fake_providers.mjs';
import { Inbox, postHook, startStdio } from './lib/mcp.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { PRIVATE, hook, rpc, secret, sleep, startReceiver } from './lib/events.mjs';

let pg;
before(async () => { pg = await startPostgres(); });
after(() => pg?.stop());

async function connect(port) {
  const client = new Client({ name: 'pg-test', version: '1.0.0' }, { capabilities: {} });
  const inbox = new Inbox();
  client.fallbackNotificationHandler = async (n) => inbox.push(n);
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  return { client, inbox };
}

test('an event posted to node B reaches an MCP client of node A', async () => {
  const db = pg.database();
  const a = await startServe({ args: ['--db', db] });
  const b = await startServe({ args: ['--db', db] });
  try {
    const { client, inbox } = await connect(a.port);
    // The session's GET stream carries the channel pushes.
    await new Promise((r) => setTimeout(r, 300));
    const waiting = client.callTool({ name: 'wait_for_event', arguments: { source: 'deploys', timeout_s: 10 } });
    await new Promise((r) => setTimeout(r, 200));
    const posted = await postHook(b.port, 'deploys', { type: 'deploy.finished', env: 'prod' });
    assert.equal(posted.status, 202);
    const pushed = await inbox.next((n) => n.method === 'notifications/claude/channel', 5000);
    assert.equal(pushed.params.meta.event_id, String(posted.body.id));
    const result = await waiting;
    assert.equal(result.structuredContent.event.id, posted.body.id);
    assert.deepEqual(result.structuredContent.event.payload, { type: 'deploy.finished', env: 'prod' });
    await client.close();
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('the same delivery POSTed to two nodes at once is stored once', async () => {
  const db = pg.database();
  const a = await startServe({ args: ['--db', db] });
  const b = await startServe({ args: ['--db', db] });
  try {
    const answers = [];
    for (let i = 0; i < 20; i++) {
      const headers = { 'X-Delivery-Id': `same-${i}` };
      answers.push(...await Promise.all([
        postHook(a.port, 'ci', { n: i }, headers),
        postHook(b.port, 'ci', { n: i }, headers),
      ]));
    }
    const stored = answers.filter((r) => r.status === 202);
    const duplicates = answers.filter((r) => r.status === 200 && r.body.duplicate);
    assert.equal(stored.length, 20);
    assert.equal(duplicates.length, 20);
    // Each pair names one id.
    for (let i = 0; i < 20; i++) assert.equal(answers[2 * i].body.id, answers[2 * i + 1].body.id);
    const listed = JSON.parse(execFileSync(binary, ['events', 'list', '--db', db, '--limit', '100', '--json'], { encoding: 'utf8' }));
    assert.equal((listed.events ?? listed).length, 20);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('hookmcp stdio beside a node that holds its address hears of that node\'s events', async () => {
  const db = pg.database();
  const holder = await startServe({ args: ['--db', db] });
  const stdio = await startStdio({ listen: `127.0.0.1:${holder.port}`, db, expectPort: false });
  try {
    const posted = await postHook(holder.port, 'github', { action: 'opened' }, { 'X-Event-Type': 'issues' });
    assert.equal(posted.status, 202);
    const pushed = await stdio.inbox.next((n) => n.method === 'notifications/claude/channel', 5000);
    assert.equal(pushed.params.meta.event_id, String(posted.body.id));
    assert.match(stdio.stderr(), /already in use, by another hookmcp on this database/);
  } finally {
    await stdio.close();
    await holder.stop();
  }
});

test('hookmcp migrate copies a SQLite database byte for byte, ids and acks kept, and resumes', async () => {
  const sqlite = await startServe();
  const file = sqlite.dir.file('events.db');
  const bodies = [];
  try {
    for (let i = 0; i < 30; i++) {
      // Bytes that are not UTF-8 too: the body is kept as it came.
      const body = i % 3 === 0 ? Buffer.from([0xff, 0x00, i, 0xfe]) : Buffer.from(JSON.stringify({ n: i, word: `w${i}` }));
      bodies.push(body);
      const res = await fetch(`${sqlite.url}/hooks/src${i % 2}`, { method: 'POST', body, headers: { 'X-Delivery-Id': `m-${i}` } });
      assert.equal(res.status, 202);
    }
    // One acknowledged, which the copy keeps.
    const ack = await fetch(`${sqlite.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'ack_events' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ack_events', arguments: { ids: [2], note: 'seen' }, _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' } } } }),
    });
    assert.equal(ack.status, 200, await ack.clone().text());
  } finally {
    // Stopped first, as the help says; the file stays.
    const { child } = sqlite;
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  const db = pg.database();
  const first = spawnSync(binary, ['migrate', '--from', file, '--to', db], { encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /migrated 30 events \(0 already there\) and 0 subscriptions/);
  // More arrive in the file; run again: only those are copied.
  const more = await startServe({ args: ['--db', file] });
  for (let i = 30; i < 35; i++) {
    const body = Buffer.from(JSON.stringify({ n: i, word: `w${i}` }));
    bodies.push(body);
    const res = await fetch(`${more.url}/hooks/src${i % 2}`, { method: 'POST', body, headers: { 'X-Delivery-Id': `m-${i}` } });
    assert.equal(res.status, 202);
  }
  const ack = spawnSync(binary, ['events', 'list', '--db', file, '--json'], { encoding: 'utf8' });
  assert.equal(ack.status, 0);
  await more.stop();
  const again = spawnSync(binary, ['migrate', '--from', file, '--to', db], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /migrated 5 events \(0 already there\)/);
  for (const id of [1, 2, 30, 35]) {
    const a = JSON.parse(execFileSync(binary, ['events', 'show', String(id), '--db', file, '--json'], { encoding: 'utf8' }));
    const b = JSON.parse(execFileSync(binary, ['events', 'show', String(id), '--db', db, '--json'], { encoding: 'utf8' }));
    assert.deepEqual(b, a, `event ${id}`);
  }
  const second = JSON.parse(execFileSync(binary, ['events', 'show', '2', '--db', db, '--json'], { encoding: 'utf8' }));
  assert.equal(second.status, 'acked');
  const searched = execFileSync(binary, ['events', 'search', 'w29', '--db', db], { encoding: 'utf8' });
  assert.match(searched, /src1/);
  // New events go on above the copied ids.
  const after = await startServe({ args: ['--db', db] });
  try {
    const res = await fetch(`${after.url}/hooks/src0`, { method: 'POST', body: '{}' });
    assert.deepEqual(await res.json(), { id: 36, duplicate: false });
  } finally {
    await after.stop();
  }
  sqlite.dir.cleanup();
  const usage = spawnSync(binary, ['migrate', '--from', file], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
});

// A node on `db` that may deliver webhook subscriptions to the receivers on loopback.
const startEventsNode = (db) => startServe({ config: PRIVATE, args: ['--db', db] });

// Three nodes, one subscription: webhooks posted to all three reach the receiver, each once by
// its webhook-id, while the node delivering is killed with kill -9 and another takes over, and
// while the killed ones come back.
test('three nodes deliver a webhook subscription once while nodes are killed and restarted', async () => {
  const db = pg.database();
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startEventsNode(db));
  const key = secret();
  const receiver = await startReceiver({ secretKey: key });
  const posted = [];
  try {
    const sub = await rpc(nodes[0].url, 'events/subscribe', {
      name: 'webhook.received', arguments: { source: 'ci' },
      delivery: { mode: 'webhook', url: receiver.url, secret: key }, ttlMs: 600000,
    });
    assert.ok(sub.result?.id, JSON.stringify(sub));
    const postRound = async (round) => {
      for (let i = 0; i < 10; i++) {
        const node = nodes[i % nodes.length];
        posted.push(await hook(node.url, 'ci', { round, i }));
      }
    };
    await postRound(0);
    await receiver.until((got) => got.length >= 10);
    // The node that made the subscription delivers it; it dies mid-stream.
    const killed = nodes.shift();
    const post = postRound(1);
    killed.child.kill('SIGKILL');
    await post;
    await postRound(2);
    // Another node holds it a moment later (the dead one's connections are gone).
    await receiver.until((got) => new Set(got.map((g) => g.id)).size >= 30, 20000);
    nodes.push(await startEventsNode(db));
    // Each of the others in turn.
    for (let k = 0; k < 2; k++) {
      const victim = nodes.shift();
      victim.child.kill('SIGKILL');
      await postRound(3 + k);
      nodes.push(await startEventsNode(db));
      await postRound(5 + k);
    }
    const wanted = posted.map((id) => `evt_${id}`);
    await receiver.until((got) => new Set(got.map((g) => g.id)).size >= wanted.length, 30000);
    await sleep(1500);  // anything sent twice would have come by now
    const ids = receiver.got.map((g) => g.id);
    assert.deepEqual([...new Set(ids)].sort(), [...wanted].sort());
    // Each delivery's body is its event, under the id it is sent with.
    for (const g of receiver.got) assert.equal(`evt_${g.body.data.id}`, g.id);
    // A POST cut short by a kill may come again (same webhook-id); nothing else does.
    assert.ok(ids.length <= wanted.length + 3, `${ids.length - wanted.length} sent twice`);
  } finally {
    for (const n of nodes) await n.stop();
    await receiver.close();
  }
});

test('a webhook subscription made on one node is refreshed and ended through the others', async () => {
  const db = pg.database();
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startEventsNode(db));
  const key = secret();
  const receiver = await startReceiver({ secretKey: key });
  try {
    const params = {
      name: 'webhook.received', arguments: { source: 'ops' },
      delivery: { mode: 'webhook', url: receiver.url, secret: key }, ttlMs: 600000,
    };
    const made = await rpc(nodes[0].url, 'events/subscribe', params);
    assert.ok(made.result?.id, JSON.stringify(made));
    const refreshed = await rpc(nodes[1].url, 'events/subscribe', params);
    assert.equal(refreshed.result.id, made.result.id);
    assert.ok(refreshed.result.deliveryStatus, JSON.stringify(refreshed));
    const first = await hook(nodes[2].url, 'ops', { n: 1 });
    await receiver.until((got) => got.some((g) => g.id === `evt_${first}`));
    const ended = await rpc(nodes[2].url, 'events/unsubscribe', {
      name: 'webhook.received', arguments: { source: 'ops' }, delivery: { url: receiver.url },
    });
    assert.ok(ended.result, JSON.stringify(ended));
    const again = await rpc(nodes[1].url, 'events/unsubscribe', {
      name: 'webhook.received', arguments: { source: 'ops' }, delivery: { url: receiver.url },
    });
    assert.equal(again.error?.code, -32023, JSON.stringify(again));
    // The node delivering lets it go within a second or so.
    await sleep(2000);
    const count = receiver.got.length;
    await hook(nodes[0].url, 'ops', { n: 2 });
    await sleep(1500);
    assert.equal(receiver.got.length, count, 'nothing is delivered after unsubscribe');
  } finally {
    for (const n of nodes) await n.stop();
    await receiver.close();
  }
});

// Posts `${prefix}-N` deliveries from `clients` loops until stopped; records each answer.
function load(url, prefix, clients = 8) {
  const answers = new Map();
  let running = true;
  let n = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const delivery = `${prefix}-${n++}`;
      try {
        const res = await fetch(`${url}/hooks/load`, {
          method: 'POST', body: JSON.stringify({ delivery }), headers: { 'X-Delivery-Id': delivery },
        });
        answers.set(delivery, res.status);
        await res.arrayBuffer();
      } catch {
        answers.set(delivery, 0);  // no answer: the process is gone
        await sleep(20);
      }
    }
  });
  return { answers, stop: async () => { running = false; await Promise.all(loops); } };
}

// Every delivery id stored under source "load", read with psql.
function storedDeliveries(db) {
  const out = execFileSync('psql', [db, '-At', '-c', "SELECT delivery_id FROM events WHERE source = 'load'"], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return new Set(out.split('\n').filter(Boolean));
}

test('two nodes with the same triggers run each event once; runs and retry work on PostgreSQL', async () => {
  const db = pg.database();
  const seen = [];
  const app = await new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      seen.push(Number(req.headers['x-hookmcp-event-id']));
      res.writeHead(200).end();
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
  const config = { triggers: {
    fwd: { match: { source: 'deploys' }, forward: { url: `http://127.0.0.1:${app.address().port}/in` } },
    broken: { match: { source: 'deploys', type: 'fail' }, run: { argv: ['false'], max_attempts: 1 } },
  } };
  const a = await startServe({ config, args: ['--db', db] });
  const b = await startServe({ config, args: ['--db', db] });
  try {
    const ids = [];
    for (let i = 0; i < 20; ++i) {
      const posted = await postHook(i % 2 ? a.port : b.port, 'deploys', { type: i === 5 ? 'fail' : 'deploy', i });
      assert.equal(posted.status, 202);
      ids.push(posted.body.id);
    }
    for (let i = 0; i < 200 && seen.length < ids.length; ++i) await sleep(50);
    await sleep(300);
    assert.deepEqual(seen, ids, 'each event forwarded once, in order, by one node');
    const runs = () => JSON.parse(execFileSync(binary, ['triggers', 'runs', '--json', '--db', db]).toString());
    let dead;
    for (let i = 0; i < 100 && !dead; ++i) {
      dead = runs().find((r) => r.trigger === 'broken' && r.state === 'dead');
      if (!dead) await sleep(50);
    }
    assert.ok(dead, 'the failing run is dead');
    assert.equal(runs().filter((r) => r.trigger === 'fwd' && r.state === 'ok').length, 20);
    execFileSync(binary, ['triggers', 'retry', String(dead.id), '--db', db]);
    let again;
    for (let i = 0; i < 100; ++i) {
      again = runs().find((r) => r.id === dead.id);
      if (again.attempts === 2) break;
      await sleep(50);
    }
    assert.equal(again.attempts, 2);
    assert.equal(again.state, 'dead');
  } finally {
    await a.stop();
    await b.stop();
    app.close();
  }
});

test('two nodes keep each connection on one node at a time: one webhook, one channel, each change read once, taken over when that node stops', async () => {
  const db = pg.database();
  const fake = await startFakeProviders();
  const dir = tempDir();
  fake.state.refreshTokens.add('1//pg-refresh');
  const [portA, portB] = [await freePort(), await freePort()];
  // Providers reach node A; node B shares the database and, through it, the secrets.
  const config = {
    public_url: `http://127.0.0.1:${portA}`,
    connections: {
      gh: { kind: 'github', repository: 'octo/hello', token: 'env:GH_TOKEN', api_url: `${fake.base}/gh` },
      cal: { kind: 'google-calendar', client_id: 'c', refresh_token: 'env:CAL_REFRESH', api_url: `${fake.base}/cal`, token_url: `${fake.base}/google/token` },
    },
  };
  const env = { GH_TOKEN: fake.state.githubToken, CAL_REFRESH: '1//pg-refresh' };
  const a = await servePublic({ config, file: dir.file('a.json'), db, port: portA, env });
  let b = await servePublic({ config, file: dir.file('b.json'), db, port: portB, env });
  const created = () => JSON.parse(execFileSync(binary, ['events', 'list', '--json', '--source', 'cal', '--db', db]).toString()).events
    .filter((e) => e.type === 'event.created').length;
  try {
    for (let i = 0; i < 200 && !(fake.state.hooks.size === 1 && fake.state.channels.size === 1); ++i) await sleep(50);
    await sleep(2000);
    assert.equal(fake.state.hooks.size, 1, 'one webhook');
    assert.equal(fake.state.channels.size, 1, 'one channel');
    assert.deepEqual(fake.state.pings, [202]);
    assert.deepEqual(await fake.calendarChange('e1', { summary: 'One' }), [202]);
    for (let i = 0; i < 200 && created() < 1; ++i) await sleep(50);
    await sleep(500);
    assert.equal(created(), 1, 'read once');
    // Whichever node held them, B stopping leaves them to A.
    await b.stop();
    b = null;
    await fake.calendarChange('e2', { summary: 'Two' });
    for (let i = 0; i < 200 && created() < 2; ++i) await sleep(50);
    assert.equal(created(), 2);
    assert.equal(fake.state.hooks.size, 1);
    assert.equal([...fake.state.channels.values()].filter((c) => !c.stoppedAt).length, 1);
  } finally {
    await a.stop();
    await b?.stop();
    await fake.close();
    dir.cleanup();
  }
});

test('PostgreSQL restarting under load: 503 and the reason on /healthz, never a 2xx for what is not stored; then it recovers by itself', async () => {
  const db = pg.database();
  const node = await startServe({ args: ['--db', db] });
  try {
    const traffic = load(node.url, 'restart');
    await sleep(700);
    pg.halt();
    await sleep(1000);
    const down = await fetch(`${node.url}/healthz`);
    assert.equal(down.status, 503);
    const health = await down.json();
    assert.equal(health.status, 'unavailable');
    assert.match(health.error, /PostgreSQL|connection|server/i, health.error);
    pg.start();
    let up;
    for (let i = 0; i < 100 && up?.status !== 200; i++) {
      await sleep(100);
      up = await fetch(`${node.url}/healthz`);
    }
    assert.equal(up.status, 200);
    await sleep(500);
    await traffic.stop();
    const statuses = [...traffic.answers.values()];
    assert.ok(statuses.every((s) => s === 202 || s === 503), `answers: ${[...new Set(statuses)]}`);
    assert.ok(statuses.some((s) => s === 503), 'refused while the server was down');
    const stored = storedDeliveries(db);
    const accepted = [...traffic.answers].filter(([, s]) => s === 202).map(([d]) => d);
    assert.ok(accepted.length > 50, `${accepted.length} accepted`);
    for (const d of accepted) assert.ok(stored.has(d), `${d} was answered 202 but is not stored`);
    // Accepted after the restart too.
    const after = await postHook(node.port, 'load', { after: true });
    assert.equal(after.status, 202);
    assert.match(node.stderr(), /cannot store events: .*PostgreSQL.*; webhooks are answered 503 until it can/);
    assert.match(node.stderr(), /PostgreSQL answers again: storing events/);
  } finally {
    await node.stop();
  }
});

test('a node killed with kill -9 under load loses nothing it acknowledged', async () => {
  const db = pg.database();
  const node = await startServe({ args: ['--db', db] });
  const traffic = load(node.url, 'kill');
  await sleep(1000);
  node.child.kill('SIGKILL');
  await traffic.stop();
  await node.stop();
  const accepted = [...traffic.answers].filter(([, s]) => s === 202).map(([d]) => d);
  assert.ok(accepted.length > 50, `${accepted.length} accepted`);
  const stored = storedDeliveries(db);
  for (const d of accepted) assert.ok(stored.has(d), `${d} was answered 202 but is not stored`);
});
