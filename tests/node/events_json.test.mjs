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
