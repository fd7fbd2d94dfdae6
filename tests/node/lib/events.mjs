// MCP Events helpers for node:test files: one stateless JSON-RPC request, and a webhook
// receiver that checks every POST with the standardwebhooks library.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

import { Webhook } from 'standardwebhooks';

export const VERSION = '2026-07-28';
export const META = {
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'events-test', version: '1.0.0' },
};
export const SUB = 'io.modelcontextprotocol/subscriptionId';
export const PRIVATE = { events: { allow_private_callbacks: true } };

let nextId = 1;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One stateless request; resolves with the JSON-RPC response (from JSON or the SSE stream).
export async function rpc(url, method, params = {}, headers = {}) {
  const id = nextId++;
  const res = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': VERSION,
      'Mcp-Method': method,
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { _meta: META, ...params } }),
  });
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const messages = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
    return messages.find((m) => m.id === id);
  }
  return JSON.parse(text);
}

export async function hook(url, source, body) {
  const res = await fetch(`${url}/hooks/${source}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(res.status, 202, await res.clone().text());
  return (await res.json()).id;
}

export const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

// A webhook receiver: verifies each POST with standardwebhooks, echoes verification challenges,
// and records what it got. `answer(body)` may choose another status for events.
export async function startReceiver({ secretKey, answer, port = 0 } = {}) {
  const got = [];
  const waiters = [];
  const wh = new Webhook(secretKey);
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      let body;
      try {
        wh.verify(raw, req.headers);  // throws on a bad signature or an old timestamp
        body = JSON.parse(raw);
      } catch (e) {
        res.writeHead(401).end(String(e));
        return;
      }
      const entry = { id: req.headers['webhook-id'], sub: req.headers['x-mcp-subscription-id'], body, raw };
      if (body.type === 'verification') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ challenge: body.challenge }));
        return;
      }
      const status = answer ? answer(body) : 204;
      if (status < 300) {
        got.push(entry);
        for (const w of [...waiters]) w();
      }
      res.writeHead(status).end();
    });
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: server.address().port,
    url: `http://127.0.0.1:${server.address().port}/in`,
    got,
    async until(pred, ms = 15000) {
      const deadline = Date.now() + ms;
      while (!pred(got)) {
        if (Date.now() > deadline) throw new Error(`receiver: condition not met; got ${got.length}`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
        waiters.length = 0;
      }
    },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}
