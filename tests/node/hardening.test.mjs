// Hostile and malformed input over the real interfaces of `hookmcp serve` and `hookmcp stdio`:
// payloads nested far deeper than any sender needs, JSON-RPC messages no client should send,
// clients that hang up mid-request, integers past 64 bits. Each must get a clear answer, and
// the server must stay up and hold no socket or wait slot for a client that is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { binary, startServe, tempDir, waitForPort } from './lib/hookmcp.mjs';

const deep = (levels) => '['.repeat(levels) + '1' + ']'.repeat(levels);

// POSTs raw text to /mcp; resolves with the status and the parsed JSON body (or SSE messages).
async function post(url, text, { session, accept = 'application/json', signal } = {}) {
  const headers = { 'content-type': 'application/json', accept };
  if (session) headers['mcp-session-id'] = session;
  const res = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers,
    body: text,
    signal: signal ?? AbortSignal.timeout(10000),
  });
  const body = await res.text();
  let json = null;
  try {
    json = body ? JSON.parse(body) : null;
  } catch {
    json = body;
  }
  return { status: res.status, json, headers: res.headers };
}

async function openSession(url) {
  const init = await post(
    url,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  );
  assert.equal(init.status, 200);
  const session = init.headers.get('mcp-session-id');
  const ack = await post(url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { session });
  assert.equal(ack.status, 202);
  return session;
}

const call = (id, name, args) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : undefined;
}

const openFds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

// Polls `probe` until it returns true, up to `ms`.
async function eventually(probe, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a payload nested 100,000 deep is stored, served as text with a note, and crashes nothing', async () => {
  const server = await startServe();
  try {
    const stored = await fetch(`${server.url}/hooks/deep`, { method: 'POST', body: deep(100000) });
    assert.equal(stored.status, 202);
    const { id } = await stored.json();
    const shallow = await fetch(`${server.url}/hooks/deep`, { method: 'POST', body: deep(10000) });
    assert.equal(shallow.status, 202);
    const { id: id2 } = await shallow.json();
    const session = await openSession(server.url);

    for (const eventId of [id, id2]) {
      const got = await post(server.url, call(1, 'get_event', { id: eventId }), { session });
      assert.equal(got.status, 200);
      const r = got.json.result;
      assert.notEqual(r.isError, true, JSON.stringify(r).slice(0, 300));
      assert.equal(r.structuredContent.payload_encoding, 'text');
      assert.match(r.structuredContent.payload_note, /nested more than 64 levels/);
      assert.ok(r.structuredContent.payload.startsWith('[[[['));
    }
    const pointer = await post(server.url, call(2, 'get_event', { id, pointer: '/0' }), { session });
    assert.equal(pointer.json.result.isError, true);
    assert.match(pointer.json.result.content[0].text, /nested more than 64 levels/);

    const read = await post(
      server.url,
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: `hookmcp://events/${id}` } }),
      { session },
    );
    assert.ok(read.json.result.contents.length > 0);
    const prompt = await post(
      server.url,
      JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'prompts/get', params: { name: 'explain_event', arguments: { id: String(id) } } }),
      { session },
    );
    assert.ok(prompt.json.result.messages.length > 0);
    const waited = await post(server.url, call(5, 'wait_for_event', { source: 'deep', after_id: 0, timeout_s: 5 }), { session });
    assert.equal(waited.json.result.structuredContent.event.id, id);
    const matched = await post(server.url, call(6, 'wait_for_event', { source: 'deep', after_id: 0, match: { '/0': 1 }, timeout_s: 0 }), { session });
    assert.equal(matched.json.result.structuredContent.timed_out, true);

    // A JSON-RPC message nested as deep is refused as a parse error.
    const body = `{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":${deep(100000)}}}`;
    const refused = await post(server.url, body, { session });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.code, -32700);
    assert.match(refused.json.error.message, /deeper than 64/);

    // The terminal: as long as the payload, not 200 MB.
    const shown = execFileSync(binary, ['events', 'show', String(id), '--db', server.dir.file('events.db')], {
      maxBuffer: 64 << 20,
    }).toString();
    assert.ok(shown.length < 400000, `events show printed ${shown.length} bytes`);
    assert.match(shown, /nested more than 64 levels/);
    const asJson = JSON.parse(
      execFileSync(binary, ['events', 'show', String(id), '--json', '--db', server.dir.file('events.db')], {
        maxBuffer: 64 << 20,
      }).toString(),
    );
    assert.equal(asJson.payload_encoding, 'text');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.stop();
  }
});

test('stdio answers a deep payload and every malformed message, with "id": null where unreadable', async () => {
  const dir = tempDir();
  const child = spawn(binary, ['stdio', '--listen', '127.0.0.1:0', '--db', dir.file('events.db')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const port = await waitForPort(child);
  const replies = [];
  let wake = () => {};
  createInterface({ input: child.stdout }).on('line', (line) => {
    replies.push(JSON.parse(line));
    wake();
  });
  const send = (text) => child.stdin.write(text + '\n');
  const reply = (pred) =>
    eventually(() => replies.some(pred), 10000, 'a reply').then(() => replies.find(pred));
  try {
    const stored = await fetch(`http://127.0.0.1:${port}/hooks/deep`, { method: 'POST', body: deep(100000) });
    const { id } = await stored.json();
    send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }));
    await reply((m) => m.id === 1);
    send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    send(call(2, 'get_event', { id }));
    const got = await reply((m) => m.id === 2);
    assert.equal(got.result.structuredContent.payload_encoding, 'text');

    send('{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}');
    const bad = await reply((m) => m.error && m.error.message.includes('id must be'));
    assert.ok('id' in bad && bad.id === null, JSON.stringify(bad));
    send('not json');
    const parse = await reply((m) => m.error?.code === -32700);
    assert.equal(parse.id, null);
    send('{"jsonrpc":"2.0","id":9,"method":"notifications/initialized"}');
    const note = await reply((m) => m.id === 9);
    assert.equal(note.error.code, -32600);
    assert.match(note.error.message, /notification/);
    send(call(10, 'get_event', { id: 1 }));
    assert.ok((await reply((m) => m.id === 10)).result);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    dir.cleanup();
  }
});

test('every /mcp POST is answered, whatever its ids, and holds no socket afterwards', async () => {
  const server = await startServe();
  try {
    const session = await openSession(server.url);
    const before = openFds(server.child.pid);
    // Ids no request may carry: each gets an error with "id": null.
    for (const id of ['{}', 'null', 'true', '1.5', '1e30', '[1]']) {
      const r = await post(server.url, `{"jsonrpc":"2.0","id":${id},"method":"ping"}`, { session });
      assert.equal(r.status, 200, `id ${id}`);
      assert.equal(r.json.id, null, `id ${id}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, -32600);
    }
    // A valid integer past 2^63 is still an integer: answered with itself.
    const big = await post(server.url, '{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}', { session });
    assert.equal(big.status, 200);
    assert.match(JSON.stringify(big.json), /"result"/);
    // A notification's method sent as a request is refused, not ignored.
    const n = await post(server.url, '{"jsonrpc":"2.0","id":5,"method":"notifications/initialized"}', { session });
    assert.equal(n.json.id, 5);
    assert.equal(n.json.error.code, -32600);
    // Several in a row, over fresh connections: none is left open.
    for (let i = 0; i < 50; i++) {
      await post(server.url, `{"jsonrpc":"2.0","id":{"n":${i}},"method":"ping"}`, { session });
    }
    await eventually(() => openFds(server.child.pid) <= before + 4, 5000, `descriptors back near ${before}`);
  } finally {
    await server.stop();
  }
});

test('two requests in flight with the same id: the second is refused, the first still answered', async () => {
  const server = await startServe();
  try {
    const session = await openSession(server.url);
    const first = post(server.url, call(7, 'wait_for_event', { source: 'none-yet', timeout_s: 1 }), { session });
    // The first is in flight once the session holds its wait; the refusal comes meanwhile.
    await new Promise((r) => setTimeout(r, 200));
    const second = await post(server.url, '{"jsonrpc":"2.0","id":7,"method":"ping"}', { session });
    assert.equal(second.json.id, 7);
    assert.match(second.json.error.message, /already used/);
    const answered = await first;
    assert.equal(answered.json.id, 7);
    assert.equal(answered.json.result.structuredContent.timed_out, true);
  } finally {
    await server.stop();
  }
});

test('JSON-RPC framing over HTTP: non-messages get 400, a batch gets an array, a bad entry an error', async () => {
  const server = await startServe();
  try {
    const session = await openSession(server.url);
    for (const body of ['5', '"x"', 'null', '[]']) {
      const r = await post(server.url, body, { session });
      assert.equal(r.status, 400, body);
      assert.equal(r.json.id, null);
      assert.equal(r.json.error.code, -32600);
    }
    const one = await post(server.url, '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', { session });
    assert.ok(Array.isArray(one.json), JSON.stringify(one.json));
    assert.equal(one.json.length, 1);
    const mixed = await post(server.url, '[{"jsonrpc":"2.0","id":2,"method":"ping"}, 5]', { session });
    assert.equal(mixed.json.length, 2);
    assert.ok(mixed.json.some((m) => m.id === 2 && m.result));
    assert.ok(mixed.json.some((m) => m.id === null && m.error.code === -32600));
    // Notifications and responses alone: 202, no body.
    const quiet = await post(server.url, '[{"jsonrpc":"2.0","method":"notifications/initialized"}]', { session });
    assert.equal(quiet.status, 202);
  } finally {
    await server.stop();
  }
});

test('integers past 64 bits are refused, not wrapped', async () => {
  const server = await startServe();
  try {
    await fetch(`${server.url}/hooks/a`, { method: 'POST', body: '{"n":1}' });
    const session = await openSession(server.url);
    const cases = [
      ['get_event', '{"id":9223372036854775808}'],
      ['get_event', '{"id":1e300}'],
      ['list_events', '{"limit":9223372036854775808}'],
      ['wait_for_event', '{"after_id":9223372036854775808,"timeout_s":0}'],
      ['ack_events', '{"ids":[18446744073709551615]}'],
    ];
    for (const [name, args] of cases) {
      const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"${name}","arguments":${args}}}`;
      const r = await post(server.url, body, { session });
      const text = JSON.stringify(r.json);
      assert.ok(r.json.error || r.json.result?.isError, `${name} ${args}: ${text}`);
      assert.match(text, /out of range|must be/, `${name} ${args}: ${text}`);
      assert.doesNotMatch(text, /"id":-\d/);
    }
  } finally {
    await server.stop();
  }
});

test('a client that hangs up during wait_for_event frees its socket at once and its wait slot soon', async () => {
  const server = await startServe();
  try {
    const session = await openSession(server.url);
    const before = openFds(server.child.pid);
    // Every wait slot of the session (64), each on a connection the client then drops.
    const aborts = [];
    for (let i = 0; i < 64; i++) {
      const ac = new AbortController();
      const res = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session },
        body: call(100 + i, 'wait_for_event', { source: 'never', timeout_s: 300 }),
        signal: ac.signal,
      });
      assert.equal(res.status, 200);
      const reader = res.body.getReader();
      await reader.read(); // the priming event: the wait is registered
      aborts.push(() => ac.abort());
    }
    const full = await post(server.url, call(999, 'wait_for_event', { source: 'never', timeout_s: 0 }), { session });
    assert.match(JSON.stringify(full.json), /too many wait_for_event/);
    for (const abort of aborts) abort();
    await eventually(() => openFds(server.child.pid) <= before + 4, 5000, 'the dropped connections closed');
    // After the grace period for resuming, the waits are cancelled and their slots free.
    await eventually(
      async () => {
        const r = await post(server.url, call(1000, 'wait_for_event', { source: 'never', timeout_s: 0 }), { session });
        return r.json.result?.structuredContent?.timed_out === true;
      },
      20000,
      'a wait slot freed',
    );
  } finally {
    await server.stop();
  }
});

test('the sessions gauge counts each session once', async () => {
  const server = await startServe();
  try {
    const a = await openSession(server.url);
    await openSession(server.url);
    assert.equal(await metric(server.url, 'hookmcp_mcp_sessions'), 2);
    const del = await fetch(`${server.url}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': a } });
    assert.equal(del.status, 200);
    assert.equal(await metric(server.url, 'hookmcp_mcp_sessions'), 1);
  } finally {
    await server.stop();
  }
});
