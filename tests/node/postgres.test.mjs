// hookmcp on PostgreSQL, several processes on one database (a server the test starts): a
// webhook stored by one node reaches an MCP client of another (claude/channel and
// wait_for_event), the same delivery POSTed to two nodes at once is stored once, and `hookmcp
// stdio` whose address another node holds hears of that node's events without following a file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { binary, startServe } from './lib/hookmcp.mjs';
import { Inbox, postHook, startStdio } from './lib/mcp.mjs';
import { startPostgres } from './lib/postgres.mjs';

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
