// `hookmcp forward` and `hookmcp events replay` against a running `hookmcp serve`: a forwarded
// GitHub delivery still verifies with @octokit/webhooks-methods at the receiving app (the
// original request, body byte for byte), a re-signed one verifies with standardwebhooks, new
// events are forwarded as they are stored, and the filters choose which.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { sign as githubSign, verify as githubVerify } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import { binary, startServe } from './lib/hookmcp.mjs';

const GITHUB_SECRET = 'It\'s a Secret to Everybody';
const APP_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let server;
let app; // the app under development that events are forwarded to
const received = [];

before(async () => {
  server = await startServe({ config: { sources: {
    github: { provider: 'github', secrets: [GITHUB_SECRET] },
    ci: { provider: 'hmac', secrets: ['ci-secret'], header: 'X-Signature', prefix: 'sha256=' },
  } } });
  app = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(req.url === '/fail' ? 500 : 200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
});

after(async () => {
  await server?.stop();
  app?.close();
});

const appUrl = (path = '/webhooks/github') => `http://127.0.0.1:${app.address().port}${path}`;

async function postGithub(action) {
  const body = JSON.stringify({ action, number: 7, pull_request: { title: `PR ${randomUUID()}` } });
  const res = await fetch(`${server.url}/hooks/github`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'pull_request',
      'X-GitHub-Delivery': randomUUID(), 'X-Hub-Signature-256': await githubSign(GITHUB_SECRET, body) },
    body,
  });
  assert.equal(res.status, 202);
  return { id: (await res.json()).id, body };
}

function run(args) {
  return new Promise((resolve) => execFile(binary, [...args, '--db', server.dir.file('events.db')],
    (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr })));
}

async function waitFor(predicate, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const found = predicate();
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

test('events replay sends the original request: GitHub\'s signature verifies at the app', async () => {
  const { id, body } = await postGithub('opened');
  const r = await run(['events', 'replay', String(id), '--to', appUrl()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`id ${id}  github  pull_request/opened  -> 200 OK`));
  const got = received.at(-1);
  assert.equal(got.body, body);
  assert.equal(got.headers['x-github-event'], 'pull_request');
  assert.equal(got.headers['x-hookmcp-event-id'], String(id));
  assert.ok(await githubVerify(GITHUB_SECRET, got.body, got.headers['x-hub-signature-256']));

  const failed = await run(['events', 'replay', String(id), '--to', appUrl('/fail')]);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /-> 500/);
  assert.equal((await run(['events', 'replay', '999999', '--to', appUrl()])).code, 1);
  assert.equal((await run(['events', 'replay', String(id)])).code, 2);
});

test('events replay --secret re-signs as Standard Webhooks', async () => {
  const { id, body } = await postGithub('closed');
  const r = await run(['events', 'replay', String(id), '--to', appUrl('/signed'), '--secret', APP_SECRET]);
  assert.equal(r.code, 0, r.stderr);
  const got = received.at(-1);
  assert.equal(got.body, body);
  const verified = new Webhook(APP_SECRET).verify(got.body, got.headers);
  assert.equal(verified.action, 'closed');
  assert.equal(got.headers['webhook-id'], `hookmcp_${id}`);
  assert.equal(got.headers['x-hub-signature-256'], undefined);
});

test('forward follows new events of the chosen source; --since sends the stored ones first', async () => {
  const earlier = await postGithub('reopened');
  const child = spawn(binary, ['forward', '--to', appUrl('/live'), '--source', 'github', '--since', '1h',
    '--db', server.dir.file('events.db')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  try {
    assert.ok(await waitFor(() => stderr.includes('Ctrl-C to stop')), stderr);
    assert.ok(received.some((r) => r.headers['x-hookmcp-event-id'] === String(earlier.id)), 'the stored event first');
    const before = received.length;
    const fresh = await postGithub('synchronize');
    // Another source's event is not forwarded.
    const ci = JSON.stringify({ type: 'build.done' });
    const { createHmac } = await import('node:crypto');
    await fetch(`${server.url}/hooks/ci`, { method: 'POST', body: ci, headers: {
      'X-Signature': `sha256=${createHmac('sha256', 'ci-secret').update(ci).digest('hex')}`, 'X-Event-Type': 'build.done' } });
    const got = await waitFor(() => received.slice(before).find((r) => r.headers['x-hookmcp-event-id'] === String(fresh.id)));
    assert.ok(got, `forwarded within 5 s: ${stdout}`);
    assert.ok(await githubVerify(GITHUB_SECRET, got.body, got.headers['x-hub-signature-256']));
    assert.ok(await waitFor(() => stdout.includes(`id ${fresh.id}  github  pull_request/synchronize  -> 200 OK`)), stdout);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(received.slice(before).every((r) => r.headers['x-hookmcp-source'] === 'github'));
  } finally {
    const exited = new Promise((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  }
});

test('forward explains a missing or bad --to', async () => {
  const r = await run(['forward']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--to URL is required/);
  const bad = await run(['forward', '--to', 'ftp://x']);
  assert.equal(bad.code, 2);
});
