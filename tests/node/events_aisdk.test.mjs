// MCP Events' webhook mode with the AI SDK's own client (@ai-sdk/mcp, on the Node.js 22 it
// needs): it discovers a real `hookmcp serve`, lists its events, subscribes with a receiver made
// by its experimental_createMCPEventWebhook, and that receiver's code verifies every POST
// (Standard Webhooks signature, the subscription id, eventId = webhook-id) before the test sees
// the event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';

import { createMCPClient, experimental_createMCPEventWebhook as createMCPEventWebhook } from '@ai-sdk/mcp';

import { startServe } from './lib/hookmcp.mjs';

// The client keeps its subscriptions here (an application keeps them durably).
function memoryStore() {
  const byKey = new Map();
  return {
    async get(key) { return byKey.get(key); },
    async getById(id) { for (const s of byKey.values()) if (s.id === id) return s; return undefined; },
    async set(s) { byKey.set(s.key, structuredClone(s)); },
    async update(key, patch) { const c = byKey.get(key); if (c) byKey.set(key, { ...c, ...structuredClone(patch) }); },
    async delete(key) { byKey.delete(key); },
  };
}

// The AI SDK's webhook handler (Fetch API) behind node:http.
async function serveHandler(handle) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    const request = new Request(url, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
      body: req.method === 'POST' ? Readable.toWeb(req) : undefined,
      duplex: 'half',
    });
    const response = await handle(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

test('the AI SDK subscribes in webhook mode and its receiver verifies what hookmcp delivers', async (t) => {
  const server = await startServe({
    config: {
      events: { allow_private_callbacks: true },
      mcp: { tokens: [{ token: 'tok-aisdk', principal: 'agent' }] },
    },
  });
  const store = memoryStore();
  const events = [];
  let arrived = () => {};
  const receiver = await serveHandler(createMCPEventWebhook({
    store,
    async onEvent({ subscription, event }) {
      events.push({ subscription, event });
      arrived();
    },
    onError: (e) => t.diagnostic(`receiver: ${e}`),
  }));
  const client = await createMCPClient({
    transport: { type: 'http', url: `${server.url}/mcp`, headers: { Authorization: 'Bearer tok-aisdk' } },
    clientName: 'hookmcp-events-test',
    experimental_events: { store },
  });
  t.after(async () => { await client.close(); receiver.close(); await server.stop(); });

  const listed = await client.experimental_events.list();
  const definition = listed.events.find((e) => e.name === 'webhook.received');
  assert.ok(definition.delivery.includes('webhook'));

  const subscription = await client.experimental_events.subscribe({
    name: 'webhook.received',
    arguments: { source: 'github', match: { '/number': 7 } },
    delivery: { mode: 'webhook', url: `http://127.0.0.1:${receiver.address().port}/events`, allowInsecureLocalhost: true },
    ttlMs: 600000,
  });
  assert.match(subscription.id, /^sub_/);

  const post = (type, body) => fetch(`${server.url}/hooks/github`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': type }, body: JSON.stringify(body),
  });
  await post('push', { ref: 'main' });
  const opened = await (await post('pull_request', { action: 'opened', number: 7 })).json();
  const closed = await (await post('pull_request', { action: 'closed', number: 7 })).json();

  const deadline = Date.now() + 20000;
  while (events.length < 2 && Date.now() < deadline) await new Promise((r) => { arrived = r; setTimeout(r, 200); });
  assert.deepEqual(events.map((e) => e.event.data.id), [opened.id, closed.id]);
  assert.equal(events[0].subscription.id, subscription.id);
  assert.equal(events[0].event.name, 'webhook.received');
  assert.deepEqual(events[1].event.data.payload, { action: 'closed', number: 7 });

  await client.experimental_events.unsubscribe({ id: subscription.id });
  await post('pull_request', { action: 'reopened', number: 7 });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(events.length, 2);
});
