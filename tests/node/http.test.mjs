// MCP over HTTP against the real `hookmcp serve`: the official SDK's Streamable HTTP and legacy
// SSE client transports, live notifications from webhook POSTs, resumption with Last-Event-ID,
// Host/Origin/token checks, and HTTPS with a self-signed certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import { startServe } from './lib/hookmcp.mjs';

const TOOLS = ['ack_events', 'get_event', 'list_events', 'list_sources', 'search_events', 'wait_for_event'];

async function postWebhook(url, source, body, headers = {}) {
  const res = await fetch(`${url}/hooks/${source}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

// Resolves with the first message `predicate` accepts, or rejects after `ms`.
function waitFor(list, predicate, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not received within ${ms} ms`)), ms);
    const check = () => {
      const found = list.find(predicate);
      if (found) {
        clearTimeout(timer);
        resolve(found);
        return true;
      }
      return false;
    };
    if (check()) return;
    list.onPush = () => check();
  });
}

function collector() {
  const list = [];
  list.add = (m) => {
    list.push(m);
    if (list.onPush) list.onPush();
  };
  return list;
}

async function connectStreamable(url, options = {}) {
  const client = new Client({ name: 'hookmcp-http-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), options);
  await client.connect(transport);
  return { client, transport };
}

test('Streamable HTTP: tools, subscription, notifications from a webhook, wait_for_event', async () => {
  const server = await startServe();
  try {
    const { client, transport } = await connectStreamable(server.url);
    assert.ok(transport.sessionId, 'the server assigned an Mcp-Session-Id');
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), TOOLS);

    const updates = collector();
    const other = collector();
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.add(n));
    client.fallbackNotificationHandler = async (n) => other.add(n);
    await client.subscribeResource({ uri: 'hookmcp://events' });

    // after_id 0: the webhook POST below may reach the server before the tool call does.
    const waiting = client.callTool({ name: 'wait_for_event', arguments: { source: 'demo', after_id: 0, timeout_s: 10 } });
    const posted = await postWebhook(server.url, 'demo', { type: 'order.created', id: 7 });
    assert.equal(posted.status, 202);

    const result = await waiting;
    assert.equal(result.isError ?? false, false, JSON.stringify(result));
    assert.equal(result.structuredContent.event.id, posted.body.id);
    assert.equal(result.structuredContent.event.type, 'order.created');

    const update = await waitFor(updates, (n) => n.params.uri === 'hookmcp://events');
    assert.equal(update.method, 'notifications/resources/updated');
    const channel = await waitFor(other, (n) => n.method === 'notifications/claude/channel');
    assert.equal(channel.params.meta.event_id, String(posted.body.id));

    const listed = await client.callTool({ name: 'list_events', arguments: {} });
    assert.equal(listed.structuredContent.events[0].id, posted.body.id);
    await transport.terminateSession();
    await client.close();
  } finally {
    await server.stop();
  }
});

test('legacy HTTP+SSE transport: endpoint event, tools, answers on the stream', async () => {
  const server = await startServe();
  try {
    const client = new Client({ name: 'hookmcp-sse-test', version: '1.0.0' });
    await client.connect(new SSEClientTransport(new URL(`${server.url}/sse`)));
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), TOOLS);
    const posted = await postWebhook(server.url, 'legacy', { type: 'ping.me' });
    const got = await client.callTool({ name: 'get_event', arguments: { id: posted.body.id } });
    assert.equal(got.structuredContent.source, 'legacy');
    await client.close();
  } finally {
    await server.stop();
  }
});

// Reads SSE events from a fetch response body until `until` accepts one or the time runs out.
async function readEvents(response, until, ms = 5000) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const events = [];
  let text = '';
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise((r) => setTimeout(() => r({ timeout: true }), deadline - Date.now())),
    ]);
    if (chunk.timeout || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    let end;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        event[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
      }
      if (Object.keys(event).length) events.push(event);
      if (until(event)) {
        await reader.cancel();
        return events;
      }
    }
  }
  await reader.cancel().catch(() => {});
  return events;
}

test('a dropped GET stream resumes with Last-Event-ID and misses nothing', async () => {
  const server = await startServe();
  try {
    const mcp = `${server.url}/mcp`;
    const base = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    const init = await fetch(mcp, {
      method: 'POST',
      headers: base,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {
        protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    const session = init.headers.get('mcp-session-id');
    assert.match(session, /^[0-9a-f]{32}$/);
    await readEvents(init, (e) => e.data && e.data.includes('"result"'));
    const headers = { ...base, 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-11-25' };
    const accepted = await fetch(mcp, { method: 'POST', headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    assert.equal(accepted.status, 202);
    const sub = await fetch(mcp, { method: 'POST', headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'hookmcp://events' } }) });
    await readEvents(sub, (e) => e.data && e.data.includes('"id":2'));

    // Open the standalone stream, note the priming event id, then drop the connection.
    const controller = new AbortController();
    const get = await fetch(mcp, { headers: { ...headers, Accept: 'text/event-stream' }, signal: controller.signal });
    assert.equal(get.headers.get('content-type'), 'text/event-stream');
    const primed = await readEvents(get, (e) => e.id !== undefined);
    const lastId = primed.at(-1).id;
    controller.abort();

    // Two webhooks arrive while no stream is attached.
    const first = await postWebhook(server.url, 'resume', { type: 'a' });
    const second = await postWebhook(server.url, 'resume', { type: 'b' });
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);

    const resumed = await fetch(mcp, { headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': lastId } });
    const events = await readEvents(resumed, () => false, 1500);
    const updates = events.filter((e) => e.data && e.data.includes('notifications/resources/updated'));
    assert.ok(updates.length >= 2, `expected both updates replayed, got ${JSON.stringify(events)}`);
    const ids = events.filter((e) => e.id).map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'event ids are unique');

    const del = await fetch(mcp, { method: 'DELETE', headers });
    assert.equal(del.status, 200);
    const gone = await fetch(mcp, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }) });
    assert.equal(gone.status, 404);
  } finally {
    await server.stop();
  }
});

test('Host and Origin are checked; a foreign origin gets 403', async () => {
  const server = await startServe();
  try {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {
      protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    const foreign = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { ...headers, Origin: 'https://evil.example' }, body });
    assert.equal(foreign.status, 403);
    const local = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { ...headers, Origin: `http://localhost:${server.port}` }, body });
    assert.equal(local.status, 200);
    // An unsigned source (no config: any /hooks/NAME) takes the same checks, or any page the
    // user opens could post to it; real senders send no Origin. Signed sources have signatures.
    const hook = await fetch(`${server.url}/hooks/demo`, { method: 'POST', headers: { Origin: 'https://evil.example' }, body: '{}' });
    assert.equal(hook.status, 403);
    assert.match((await hook.json()).error, /unsigned.*Origin/);
    const sender = await fetch(`${server.url}/hooks/demo`, { method: 'POST', body: '{}' });
    assert.equal(sender.status, 202);
    const badVersion = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { ...headers, 'MCP-Protocol-Version': '1999-01-01' }, body });
    assert.equal(badVersion.status, 400);
  } finally {
    await server.stop();
  }
});

test('with tokens configured, MCP needs a bearer token and intake does not', async () => {
  const server = await startServe({ config: { mcp: { tokens: ['env:TEST_MCP_TOKEN'] } }, env: { TEST_MCP_TOKEN: 's3cret-token' } });
  try {
    const denied = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate'), /^Bearer/);
    await assert.rejects(connectStreamable(server.url));
    const { client } = await connectStreamable(server.url, { requestInit: { headers: { Authorization: 'Bearer s3cret-token' } } });
    const tools = await client.listTools();
    assert.equal(tools.tools.length, TOOLS.length);
    await client.close();
    const hook = await postWebhook(server.url, 'open', { type: 'x' });
    assert.equal(hook.status, 202);
  } finally {
    await server.stop();
  }
});

test('HTTPS with a self-signed certificate', async () => {
  const dir = (await import('./lib/hookmcp.mjs')).tempDir();
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', dir.file('key.pem'), '-out', dir.file('cert.pem')], { stdio: 'ignore' });
    const server = await startServe({ config: { tls: { cert_file: dir.file('cert.pem'), key_file: dir.file('key.pem') } } });
    try {
      assert.match(server.stderr(), /listening on https:\/\/127\.0\.0\.1:\d+/);
      const ca = (await import('node:fs')).readFileSync(dir.file('cert.pem'));
      const status = await new Promise((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: server.port, path: '/hooks/tls', method: 'POST', ca,
          servername: 'localhost', headers: { 'Content-Type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on('error', reject);
        req.end('{"type":"over.tls"}');
      });
      assert.equal(status, 202);
    } finally {
      await server.stop();
    }
  } finally {
    dir.cleanup();
  }
});

test('a client that accepts only JSON gets plain JSON answers, batches as arrays', async () => {
  const server = await startServe();
  try {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const init = await fetch(`${server.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'json', version: '1' } } }) });
    assert.equal(init.headers.get('content-type'), 'application/json');
    const answer = await init.json();
    assert.equal(answer.result.protocolVersion, '2025-03-26');
    const session = init.headers.get('mcp-session-id');
    const batch = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { ...headers, 'Mcp-Session-Id': session },
      body: JSON.stringify([{ jsonrpc: '2.0', id: 2, method: 'ping' }, { jsonrpc: '2.0', id: 3, method: 'tools/list' }]) });
    const answers = await batch.json();
    assert.deepEqual(answers.map((a) => a.id).sort(), [2, 3]);
    const noSession = await fetch(`${server.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'ping' }) });
    assert.equal(noSession.status, 400);
  } finally {
    await server.stop();
  }
});
