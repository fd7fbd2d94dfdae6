// `hookmcp events ... --json` prints what the MCP tools return (list_events, search_events,
// get_event): checked against the tools' output schemas in schemas/tools.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { binary, startServe } from './lib/hookmcp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const schema = (name) => ajv.compile(JSON.parse(readFileSync(join(root, 'schemas', 'tools', name), 'utf8')));

const server = await startServe();
after(() => server.stop());
const db = server.dir.file('events.db');
const events = (...args) => JSON.parse(execFileSync(binary, ['events', ...args, '--db', db, '--json'], { encoding: 'utf8' }));

async function post(source, body, headers = {}) {
  const r = await fetch(`${server.url}/hooks/${source}`, { method: 'POST', body, headers });
  const text = await r.text();
  assert.equal(r.status, 202, text);
  return JSON.parse(text).id;
}

const pr = await post('github', JSON.stringify({ action: 'opened', title: 'refund flow' }), { 'X-Event-Type': 'pull_request' });
const binaryId = await post('blobs', Buffer.from([0, 1, 2, 255, 254]), { 'Content-Type': 'application/octet-stream' });

test('events list --json matches list_events', () => {
  const validate = schema('list_events.output.json');
  const doc = events('list');
  assert.ok(validate(doc), ajv.errorsText(validate.errors));
  assert.deepEqual(doc.events.map((e) => e.id), [binaryId, pr]);
});

test('events search --json matches search_events', () => {
  const validate = schema('search_events.output.json');
  const doc = events('search', 'refund');
  assert.ok(validate(doc), ajv.errorsText(validate.errors));
  assert.deepEqual(doc.events.map((e) => e.id), [pr]);
});

test('events show --json matches get_event, for JSON and binary payloads', () => {
  const validate = schema('get_event.output.json');
  const json = events('show', String(pr));
  assert.ok(validate(json), ajv.errorsText(validate.errors));
  assert.equal(json.payload_encoding, 'json');
  assert.equal(json.payload.title, 'refund flow');
  const blob = events('show', String(binaryId));
  assert.ok(validate(blob), ajv.errorsText(validate.errors));
  assert.equal(blob.payload_encoding, 'base64');
  assert.deepEqual([...Buffer.from(blob.payload, 'base64')], [0, 1, 2, 255, 254]);
});

// One strict UTF-8 check decides text or base64 everywhere: an encoded surrogate or an overlong
// form is not text, so the CLI, get_event and the event's resource all give the same bytes back
// as base64 (a lenient check once called them text, and the JSON dump then replaced them).
test('events show --json, get_event and resources/read agree on bodies that are not UTF-8', async () => {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const client = new Client({ name: 'hookmcp-events-json-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  try {
    const bodies = {
      surrogate: [0x61, 0xed, 0xa0, 0x80],
      overlong3: [0x61, 0xe0, 0x80, 0x80],
      overlong4: [0x61, 0xf0, 0x80, 0x80, 0x80],
    };
    for (const [name, bytes] of Object.entries(bodies)) {
      const id = await post('utf8', Buffer.from(bytes), { 'Content-Type': 'text/plain' });
      const cli = events('show', String(id));
      assert.equal(cli.payload_encoding, 'base64', name);
      assert.deepEqual([...Buffer.from(cli.payload, 'base64')], bytes, name);
      const tool = await client.callTool({ name: 'get_event', arguments: { id } });
      assert.equal(tool.structuredContent.payload_encoding, 'base64', name);
      assert.equal(tool.structuredContent.payload, cli.payload, name);
      const read = await client.readResource({ uri: `hookmcp://events/${id}` });
      const resource = JSON.parse(read.contents[0].text);
      assert.equal(resource.payload_encoding, 'base64', name);
      assert.equal(resource.payload, cli.payload, name);
    }
  } finally {
    await client.close();
  }
});
