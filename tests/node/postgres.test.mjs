// hookmcp on PostgreSQL, several processes on one database (a server the test starts): a
// webhook stored by one node reaches an MCP client of another (claude/channel and
// wait_for_event), the same delivery POSTed to two nodes at once is stored once, and `hookmcp
// stdio` whose address another node holds hears of that node's events without following a file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

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
