// hookmcp stdio driven by the official MCP TypeScript SDK: tools, resources, subscriptions,
// live notifications from webhooks posted to its intake, and follower mode beside a serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { binary, startServe, tempDir } from './lib/hookmcp.mjs';
import { postHook, startStdio } from './lib/mcp.mjs';

const TOOLS = ['list_sources', 'list_events', 'get_event', 'search_events', 'wait_for_event', 'ack_events'];

test('initialize, list the tools, call each of them', async () => {
  const s = await startStdio();
  try {
    const version = s.client.getServerVersion();
    assert.equal(version.name, 'hookmcp');
    const caps = s.client.getServerCapabilities();
    assert.deepEqual(caps.resources, { subscribe: true, listChanged: true });
    assert.ok(caps.experimental['claude/channel']);
    assert.match(s.client.getInstructions(), /not by the user/);

    const { tools } = await s.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOLS].sort());
    for (const t of tools) {
      assert.ok(t.description.length > 40, t.name);
      assert.equal(t.inputSchema.type, 'object');
      assert.equal(t.outputSchema.type, 'object');
      assert.equal(typeof t.annotations.readOnlyHint, 'boolean');
    }

    const posted = await postHook(s.port, 'github', { action: 'opened', pull_request: { title: 'Add the MCP server', number: 7 } }, { 'x-event-type': 'pull_request' });
    assert.equal(posted.status, 202);
    const id = posted.body.id;
    await postHook(s.port, 'stripe', { type: 'invoice.paid', data: { amount: 4200 } });

    // The SDK validates structuredContent against each tool's outputSchema.
    const sources = await s.client.callTool({ name: 'list_sources', arguments: {} });
    assert.deepEqual(sources.structuredContent.sources.map((x) => [x.name, x.events, x.pending]), [['github', 1, 1], ['stripe', 1, 1]]);

    const list = await s.client.callTool({ name: 'list_events', arguments: { source: 'github' } });
    assert.equal(list.structuredContent.events.length, 1);
    assert.equal(list.structuredContent.events[0].type, 'pull_request');
    assert.equal(list.structuredContent.events[0].action, 'opened');
    assert.match(list.content[0].text, /pull_request/);

    const one = await s.client.callTool({ name: 'get_event', arguments: { id, pointer: '/pull_request/title' } });
    assert.equal(one.structuredContent.payload, 'Add the MCP server');
    assert.equal(one.structuredContent.verified, false);
    assert.match(one.content[0].text, /written by the sender/);
    assert.match(one.content[0].text, /<untrusted-webhook-payload-[0-9a-f]+ /);

    const found = await s.client.callTool({ name: 'search_events', arguments: { query: 'invoice.paid' } });
    assert.equal(found.structuredContent.events.length, 1);
    assert.equal(found.structuredContent.events[0].source, 'stripe');
    assert.match(found.structuredContent.events[0].snippet, /«/);

    const waited = await s.client.callTool({ name: 'wait_for_event', arguments: { after_id: 0, source: 'stripe' } });
    assert.equal(waited.structuredContent.event.payload.data.amount, 4200);

    const acked = await s.client.callTool({ name: 'ack_events', arguments: { ids: [id, 999], note: 'reviewed' } });
    assert.deepEqual(acked.structuredContent, { acked: [id], not_found: [999] });
    const pending = await s.client.callTool({ name: 'list_events', arguments: { status: 'pending' } });
    assert.deepEqual(pending.structuredContent.events.map((e) => e.source), ['stripe']);

    const wrong = await s.client.callTool({ name: 'list_events', arguments: { limit: 1000 } });
    assert.equal(wrong.isError, true);
    assert.match(wrong.content[0].text, /limit must be at most 200/);
  } finally {
    await s.close();
  }
});

test('resources, templates, prompts and completion', async () => {
  const s = await startStdio();
  try {
    const { id } = (await postHook(s.port, 'github', { ref: 'refs/heads/main' }, { 'x-event-type': 'push' })).body;
    const { resources } = await s.client.listResources();
    assert.deepEqual(resources.map((r) => r.uri), ['hookmcp://events', 'hookmcp://status', 'hookmcp://sources/github']);
    const { resourceTemplates } = await s.client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate).sort(), ['hookmcp://events/{id}', 'hookmcp://sources/{source}']);
    const feed = await s.client.readResource({ uri: 'hookmcp://sources/github' });
    assert.equal(JSON.parse(feed.contents[0].text).events[0].id, id);
    const event = await s.client.readResource({ uri: `hookmcp://events/${id}` });
    assert.equal(JSON.parse(event.contents[0].text).payload.ref, 'refs/heads/main');
    await assert.rejects(s.client.readResource({ uri: 'hookmcp://events/99999' }), /-32002|not found/);

    const { prompts } = await s.client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['explain_event', 'triage_events']);
    const explained = await s.client.getPrompt({ name: 'explain_event', arguments: { id: String(id) } });
    assert.equal(explained.messages[1].content.type, 'resource');

    const completed = await s.client.complete({ ref: { type: 'ref/resource', uri: 'hookmcp://sources/{source}' }, argument: { name: 'source', value: 'g' } });
    assert.deepEqual(completed.completion.values, ['github']);
    await s.client.setLoggingLevel('debug');
  } finally {
    await s.close();
  }
});

test('subscriptions, channel pushes and wait_for_event resolve on a POST', async () => {
  const s = await startStdio();
  try {
    await s.client.subscribeResource({ uri: 'hookmcp://events' });
    await s.client.subscribeResource({ uri: 'hookmcp://sources/ci' });
    const waiting = s.client.callTool({ name: 'wait_for_event', arguments: { source: 'ci', match: { '/conclusion': 'failure' }, timeout_s: 60 } });
    // Give the wait a moment to register before the first delivery: a ping round trip on the
    // same session is answered after the tools/call was read.
    await s.client.ping();
    await postHook(s.port, 'ci', { conclusion: 'success' }, { 'x-event-type': 'workflow_run' });
    const failure = await postHook(s.port, 'ci', { conclusion: 'failure', run: 12 }, { 'x-event-type': 'workflow_run' });
    const result = await waiting;
    assert.equal(result.structuredContent.event.id, failure.body.id);
    assert.equal(result.structuredContent.event.payload.run, 12);

    const updated = await s.inbox.next((n) => n.method === 'notifications/resources/updated' && n.params.uri === 'hookmcp://sources/ci');
    assert.ok(updated);
    await s.inbox.next((n) => n.method === 'notifications/resources/updated' && n.params.uri === 'hookmcp://events');
    await s.inbox.next((n) => n.method === 'notifications/resources/list_changed');
    const pushed = await s.inbox.next((n) => n.method === 'notifications/claude/channel' && n.params.meta.event_id === String(failure.body.id));
    assert.deepEqual(pushed.params.meta, { source: 'ci', type: 'workflow_run', action: '', event_id: String(failure.body.id), verified: 'false' });
    for (const v of Object.values(pushed.params.meta)) assert.equal(typeof v, 'string');
    assert.match(pushed.params.content, /get_event/);
  } finally {
    await s.close();
  }
});

test('wait_for_event sends progress, times out, and can be cancelled', async () => {
  const s = await startStdio();
  try {
    const progress = [];
    const timedOut = await s.client.callTool({ name: 'wait_for_event', arguments: { timeout_s: 1.5 } }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p),
    });
    assert.deepEqual(timedOut.structuredContent, { timed_out: true });
    assert.ok(progress.length >= 1, 'at least one progress notification');
    assert.equal(progress[0].total, 1.5);

    const abort = new AbortController();
    const cancelled = s.client.callTool({ name: 'wait_for_event', arguments: { timeout_s: 60 } }, CallToolResultSchema, { signal: abort.signal });
    await s.client.ping();
    abort.abort('no longer needed');
    await assert.rejects(cancelled);
    // The session carries on.
    const sources = await s.client.callTool({ name: 'list_sources', arguments: {} });
    assert.deepEqual(sources.structuredContent.sources, []);
  } finally {
    await s.close();
  }
});

test('follower: stdio beside a serve on the same database still delivers', async () => {
  const serve = await startServe();
  const s = await startStdio({ listen: `127.0.0.1:${serve.port}`, db: serve.dir.file('events.db'), expectPort: false });
  try {
    await s.client.subscribeResource({ uri: 'hookmcp://events' });
    const waiting = s.client.callTool({ name: 'wait_for_event', arguments: { type: 'deploy', timeout_s: 60 } });
    await s.client.ping();
    const posted = await postHook(serve.port, 'ops', { status: 'done' }, { 'x-event-type': 'deploy' });
    assert.equal(posted.status, 202);
    const result = await waiting;
    assert.equal(result.structuredContent.event.id, posted.body.id);
    await s.inbox.next((n) => n.method === 'notifications/resources/updated' && n.params.uri === 'hookmcp://events');
    await s.inbox.next((n) => n.method === 'notifications/claude/channel' && n.params.meta.event_id === String(posted.body.id));
    assert.match(s.stderr(), /already in use.*following/);
    // Its tools read what the other process stored.
    const list = await s.client.callTool({ name: 'list_events', arguments: {} });
    assert.equal(list.structuredContent.events[0].type, 'deploy');
  } finally {
    await s.close();
    await serve.stop();
  }
});

test('follower: takes the intake over when the serve beside it stops', async () => {
  const serve = await startServe();
  const port = serve.port;
  const s = await startStdio({ listen: `127.0.0.1:${port}`, db: serve.dir.file('events.db'), expectPort: false });
  try {
    await s.client.ping();
    assert.match(s.stderr(), /already in use.*following/);
    const exited = new Promise((r) => serve.child.once('exit', r));
    serve.child.kill('SIGTERM');
    await exited;
    // The follower tries the address every 500 ms.
    let posted;
    for (let i = 0; i < 50 && !posted; i++) {
      posted = await postHook(port, 'ops', { status: 'done' }, { 'x-event-type': 'deploy' }).catch(() => undefined);
      if (!posted) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(posted, `nobody took the intake over:\n${s.stderr()}`);
    assert.equal(posted.status, 202);
    assert.match(s.stderr(), /let go by the other hookmcp: receiving webhooks here now/);
    const isIt = (n) => n.method === 'notifications/claude/channel' && n.params.meta.event_id === String(posted.body.id);
    await s.inbox.next(isIt);
    // Told once: by the poller that follows the database, not by the new listener's commit too.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.inbox.items.filter(isIt).length, 0);
    const list = await s.client.callTool({ name: 'list_events', arguments: {} });
    assert.equal(list.structuredContent.events[0].id, posted.body.id);
  } finally {
    await s.close();
    await serve.stop();
  }
});

test('stdout carries only JSON-RPC lines, and EOF on stdin exits 0', async () => {
  const dir = tempDir();
  try {
    const child = spawn(binary, ['stdio', '--listen', '127.0.0.1:0', '--db', dir.file('events.db'), '--log-level', 'debug'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const send = (m) => child.stdin.write(JSON.stringify(m) + '\n');
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_events', arguments: {} } });
    child.stdin.write('not json\n');
    child.stdin.end();
    assert.equal(await exited, 0, stderr);
    assert.ok(lines.length >= 3, `got ${lines.length} lines:\n${lines.join('\n')}\n${stderr}`);
    const messages = lines.map((l) => JSON.parse(l));
    for (const m of messages) assert.equal(m.jsonrpc, '2.0');
    assert.equal(messages.find((m) => m.id === 1).result.protocolVersion, '2024-11-05');
    assert.ok(messages.find((m) => m.id === 2).result.content);
    assert.equal(messages.find((m) => m.error && m.id === null).error.code, -32700);
    assert.match(stderr, /listening on http/);
  } finally {
    dir.cleanup();
  }
});
