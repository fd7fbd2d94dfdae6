// MCP 2026-07-28 against the real binary, beside the session-based revisions: stateless POSTs
// to `hookmcp serve` (server/discover, the era's result fields, the header and version checks,
// GET and DELETE refused), an old-era SDK client at the same time, and both eras on one
// `hookmcp stdio`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { binary, startServe, tempDir } from './lib/hookmcp.mjs';
import { sseFrames as frames } from './lib/sse.mjs';

const VERSION = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'stateless-test', version: '1.0.0' },
};

let nextId = 1;

// One stateless request over HTTP, with the headers the revision asks for (`headers` overrides
// them; a null value drops one). Resolves with the status, headers and JSON body.
async function post(url, method, params = {}, headers = {}) {
  const id = nextId++;
  const base = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': VERSION,
    'Mcp-Method': method,
  };
  const name = method === 'resources/read' ? params.uri : params.name;
  if (name !== undefined) base['Mcp-Name'] = name;
  const all = { ...base, ...headers };
  for (const [k, v] of Object.entries(all)) if (v === null) delete all[k];
  const res = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: all,
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { _meta: META, ...params } }),
  });
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  let body;
  if (type.includes('text/event-stream')) {
    const messages = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
    body = messages.find((m) => m.id === id);
    return { status: res.status, headers: res.headers, body, messages, id };
  }
  body = text ? JSON.parse(text) : undefined;
  return { status: res.status, headers: res.headers, body, messages: body ? [body] : [], id };
}

test('serve answers MCP 2026-07-28 without a session, beside an old-era client', async (t) => {
  const server = await startServe();
  t.after(() => server.stop());

  const discover = await post(server.url, 'server/discover');
  assert.equal(discover.status, 200);
  assert.equal(discover.headers.get('mcp-session-id'), null);
  const d = discover.body.result;
  assert.deepEqual(d.supportedVersions, [VERSION]);
  assert.equal(d.resultType, 'complete');
  assert.ok(Number.isInteger(d.ttlMs) && ['public', 'private'].includes(d.cacheScope));
  assert.equal(d._meta['io.modelcontextprotocol/serverInfo'].name, 'hookmcp');
  assert.ok(d.capabilities.tools && d.capabilities.resources && d.capabilities.extensions);
  assert.equal(d.capabilities.experimental, undefined, 'claude/channel is the old era\'s');

  const tools = await post(server.url, 'tools/list');
  assert.equal(tools.body.result.resultType, 'complete');
  assert.equal(tools.body.result.cacheScope, 'public');
  const names = tools.body.result.tools.map((x) => x.name);
  const again = await post(server.url, 'tools/list');
  assert.deepEqual(again.body.result.tools.map((x) => x.name), names, 'tools come in a fixed order');
  assert.ok(names.includes('wait_for_event'));

  const resources = await post(server.url, 'resources/list');
  assert.equal(resources.body.result.cacheScope, 'private');
  assert.equal(resources.body.result.ttlMs, 0);
  const read = await post(server.url, 'resources/read', { uri: 'hookmcp://events' });
  assert.equal(read.body.result.resultType, 'complete');
  assert.equal(read.body.result.contents[0].uri, 'hookmcp://events');
  const missing = await post(server.url, 'resources/read', { uri: 'hookmcp://events/999' });
  assert.equal(missing.body.error.code, -32602, JSON.stringify(missing.body));

  const call = await post(server.url, 'tools/call', { name: 'list_sources', arguments: {} });
  assert.equal(call.body.result.resultType, 'complete');
  assert.deepEqual(call.body.result.structuredContent, { sources: [] });

  // An old-era client on the same server at the same time keeps its session.
  const client = new Client({ name: 'old-era', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`));
  await client.connect(transport);
  t.after(() => client.close());
  assert.equal(transport.protocolVersion, '2025-11-25');
  assert.ok(transport.sessionId);
  const old = await client.listTools();
  assert.equal(old.resultType, undefined);
  assert.equal(old.tools.length, names.length);
  // A stateless request carrying that session's id is still stateless: the id is ignored.
  const withId = await post(server.url, 'tools/list', {}, { 'Mcp-Session-Id': transport.sessionId });
  assert.equal(withId.body.result.resultType, 'complete');
});

test('serve refuses what MCP 2026-07-28 refuses, with the request id', async (t) => {
  const server = await startServe();
  t.after(() => server.stop());

  const noMeta = await fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'MCP-Protocol-Version': VERSION, 'Mcp-Method': 'server/discover' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'server/discover', params: {} }),
  });
  assert.equal(noMeta.status, 400);
  const noMetaBody = await noMeta.json();
  assert.equal(noMetaBody.error.code, -32602);
  assert.equal(noMetaBody.id, 7);

  const unsupported = await post(server.url, 'server/discover',
    { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } },
    { 'MCP-Protocol-Version': 'v999.0.0' });
  assert.equal(unsupported.status, 400);
  assert.equal(unsupported.body.error.code, -32022);
  assert.deepEqual(unsupported.body.error.data, { supported: [VERSION], requested: 'v999.0.0' });
  assert.equal(unsupported.body.id, unsupported.id);

  const mismatch = await post(server.url, 'server/discover',
    { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } });
  assert.equal(mismatch.status, 400);
  assert.equal(mismatch.body.error.code, -32020);

  const wrongMethod = await post(server.url, 'tools/list', {}, { 'Mcp-Method': 'prompts/list' });
  assert.equal(wrongMethod.status, 400);
  assert.equal(wrongMethod.body.error.code, -32020);
  const noMethod = await post(server.url, 'tools/list', {}, { 'Mcp-Method': null });
  assert.equal(noMethod.body.error.code, -32020);
  const wrongName = await post(server.url, 'tools/call', { name: 'list_sources', arguments: {} },
    { 'Mcp-Name': 'ack_events' });
  assert.equal(wrongName.status, 400);
  assert.equal(wrongName.body.error.code, -32020);
  const noVersion = await post(server.url, 'tools/list', {}, { 'MCP-Protocol-Version': null });
  assert.equal(noVersion.body.error.code, -32020);

  for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'no/such']) {
    const r = await post(server.url, method);
    assert.equal(r.status, 404, method);
    assert.equal(r.body.error.code, -32601, method);
    assert.equal(r.body.id, r.id, method);
  }

  for (const verb of ['GET', 'DELETE']) {
    const r = await fetch(`${server.url}/mcp`, { method: verb, headers: { 'MCP-Protocol-Version': VERSION, Accept: 'text/event-stream' } });
    assert.equal(r.status, 405, verb);
    assert.equal(r.headers.get('allow'), 'POST');
  }
});

test('one hookmcp stdio answers both eras, each request in its own', async (t) => {
  const dir = tempDir();
  const child = spawn(binary, ['stdio', '--listen', '127.0.0.1:0', '--db', dir.file('events.db')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.after(() => { child.kill('SIGTERM'); dir.cleanup(); });
  const lines = createInterface({ input: child.stdout });
  const answers = new Map();
  const waiting = new Map();
  lines.on('line', (line) => {
    const m = JSON.parse(line);
    if (m.id === undefined) return;
    if (waiting.has(m.id)) waiting.get(m.id)(m);
    else answers.set(m.id, m);
  });
  const send = (message) => new Promise((resolve) => {
    if (answers.has(message.id)) return resolve(answers.get(message.id));
    waiting.set(message.id, resolve);
    child.stdin.write(`${JSON.stringify(message)}\n`);
  });

  const discover = await send({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: META } });
  assert.deepEqual(discover.result.supportedVersions, [VERSION]);
  // Without initialize, an old-era request is refused; a stateless one is served.
  const early = await send({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
  assert.ok(early.error, JSON.stringify(early));
  const stateless = await send({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: META } });
  assert.equal(stateless.result.resultType, 'complete');
  const ping = await send({ jsonrpc: '2.0', id: 4, method: 'ping', params: { _meta: META } });
  assert.equal(ping.error.code, -32601);
  const unsupported = await send({ jsonrpc: '2.0', id: 5, method: 'tools/list',
    params: { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } });
  assert.equal(unsupported.error.code, -32022);

  const init = await send({ jsonrpc: '2.0', id: 6, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'old', version: '1' } } });
  assert.equal(init.result.protocolVersion, '2025-11-25');
  assert.ok(init.result.capabilities.experimental['claude/channel']);
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  const old = await send({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} });
  assert.equal(old.result.resultType, undefined);
  const again = await send({ jsonrpc: '2.0', id: 8, method: 'tools/list', params: { _meta: META } });
  assert.equal(again.result.resultType, 'complete');
});


test('subscriptions/listen over HTTP: acknowledged, then each webhook on the stream, tagged', async (t) => {
  const server = await startServe();
  t.after(() => server.stop());
  const res = await fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': VERSION,
      'Mcp-Method': 'subscriptions/listen',
    },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 41, method: 'subscriptions/listen',
      params: { _meta: META, notifications: { resourcesListChanged: true, resourceSubscriptions: ['hookmcp://sources/demo'] } },
    }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/event-stream/);
  const stream = frames(res);
  t.after(() => stream.cancel());
  const ack = await stream.next();
  assert.equal(ack.method, 'notifications/subscriptions/acknowledged');
  assert.equal(ack.params._meta['io.modelcontextprotocol/subscriptionId'], 41);
  assert.deepEqual(ack.params.notifications, { resourcesListChanged: true, resourceSubscriptions: ['hookmcp://sources/demo'] });

  const hook = await fetch(`${server.url}/hooks/demo`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"hello":"world"}',
  });
  assert.equal(hook.status, 202);
  const seen = [await stream.next(), await stream.next()];
  const methods = seen.map((m) => m.method).sort();
  assert.deepEqual(methods, ['notifications/resources/list_changed', 'notifications/resources/updated']);
  for (const m of seen) assert.equal(m.params._meta['io.modelcontextprotocol/subscriptionId'], 41);
  assert.equal(seen.find((m) => m.method === 'notifications/resources/updated').params.uri, 'hookmcp://sources/demo');

  // Other requests go on while the stream is open.
  const tools = await post(server.url, 'tools/list');
  assert.equal(tools.body.result.resultType, 'complete');
});

test('wait_for_event in MCP 2026-07-28: a long request answered on its own stream', async (t) => {
  const server = await startServe();
  t.after(() => server.stop());
  const waiting = post(server.url, 'tools/call', {
    name: 'wait_for_event',
    // after_id 0: the webhook may be stored before the wait starts or while it waits.
    arguments: { source: 'ci', timeout_s: 20, after_id: 0 },
    _meta: { ...META, progressToken: 'w1' },
  });
  const hook = await fetch(`${server.url}/hooks/ci`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"status":"done"}',
  });
  assert.equal(hook.status, 202);
  const answer = await waiting;
  assert.equal(answer.status, 200);
  const result = answer.body.result;
  assert.equal(result.resultType, 'complete');
  assert.equal(result.structuredContent.event.source, 'ci');
  assert.deepEqual(result.structuredContent.event.payload, { status: 'done' });
  for (const m of answer.messages.filter((x) => x.id === undefined)) {
    assert.equal(m.method, 'notifications/progress');
    assert.equal(m.params.progressToken, 'w1');
  }
});

test('a method that is not a string is a clear error in either era, not a dropped connection', async (t) => {
  const server = await startServe();
  t.after(() => server.stop());
  for (const headers of [{}, { 'MCP-Protocol-Version': VERSION, 'Mcp-Method': 'tools/list' }]) {
    const res = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 5, params: {} }),
    });
    assert.equal(res.status, 400, JSON.stringify(headers));
    const body = await res.json();
    assert.equal(body.error.code, -32600, JSON.stringify(body));
  }
});
