// Three `hookmcp serve` nodes on one PostgreSQL behind HAProxy, configured with
// examples/cluster/haproxy.cfg as the README shows: an MCP client's session stays on the node
// that opened it while webhooks spread over all three, and the client hears of each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { startServe } from './lib/hookmcp.mjs';
import { Inbox } from './lib/mcp.mjs';
import { startPostgres } from './lib/postgres.mjs';

const haproxyConfig = fileURLToPath(new URL('../../examples/cluster/haproxy.cfg', import.meta.url));

let pg;
before(async () => { pg = await startPostgres(); });
after(() => pg?.stop());

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// HAProxy in the foreground with the example's config, the nodes' addresses in its environment.
async function startHaproxy(nodes) {
  const port = await freePort();
  const env = {
    ...process.env,
    LISTEN: `127.0.0.1:${port}`,
    HOOKMCP_A: `127.0.0.1:${nodes[0].port}`,
    HOOKMCP_B: `127.0.0.1:${nodes[1].port}`,
    HOOKMCP_C: `127.0.0.1:${nodes[2].port}`,
  };
  const child = spawn('haproxy', ['-db', '-f', haproxyConfig], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => { log += c; });
  child.stderr.on('data', (c) => { log += c; });
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
    if (up) break;
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }),
  };
}

test('behind HAProxy: a session stays on its node, webhooks go to all three, the client hears of each', async () => {
  const db = pg.database();
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startServe({ args: ['--db', db] }));
  const proxy = await startHaproxy(nodes);
  try {
    const client = new Client({ name: 'cluster-test', version: '1.0.0' }, { capabilities: {} });
    const inbox = new Inbox();
    client.fallbackNotificationHandler = async (n) => inbox.push(n);
    const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`));
    await client.connect(transport);
    assert.ok(transport.sessionId, 'an old-era session');
    await new Promise((r) => setTimeout(r, 300));  // its GET stream is open
    // Round robin would send two requests of three to a node that does not know the session:
    // each would be 404. Sticky, all of them work.
    for (let i = 0; i < 9; i++) {
      const listed = await client.callTool({ name: 'list_sources', arguments: {} });
      assert.ok(!listed.isError, JSON.stringify(listed));
    }
    // Webhooks through the proxy reach every node, and the client's node tells of each.
    const ids = [];
    for (let i = 0; i < 9; i++) {
      const res = await fetch(`${proxy.url}/hooks/deploys`, { method: 'POST', body: JSON.stringify({ n: i }) });
      assert.equal(res.status, 202);
      ids.push((await res.json()).id);
    }
    for (const id of ids) {
      await inbox.next((n) => n.method === 'notifications/claude/channel' && n.params.meta.event_id === String(id), 5000);
    }
    const stored = nodes.map((n) => (n.stderr().match(/webhook 202 deploys/g) ?? []).length);
    assert.deepEqual(stored, [3, 3, 3], `webhooks per node: ${stored}`);
    await client.close();
  } finally {
    await proxy.stop();
    for (const n of nodes) await n.stop();
  }
});
