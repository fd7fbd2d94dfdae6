// What a person sees in the first hour with hookmcp, through the real binary: the startup
// summary and its warnings, one log line per delivery, SIGHUP reloading the sources, /healthz
// naming the database, and `hookmcp stdio` saying who holds its address before following.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { statSync, writeFileSync } from 'node:fs';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { startServe, tempDir } from './lib/hookmcp.mjs';
import { postHook, startStdio } from './lib/mcp.mjs';

// Resolves once `pattern` appears in what `text()` returns, or fails after `ms`.
async function eventually(text, pattern, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!pattern.test(text())) {
    if (Date.now() > deadline) assert.fail(`no ${pattern} within ${ms} ms in:\n${text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function postGithub(port, secret, body, event = 'push') {
  const text = JSON.stringify(body);
  return fetch(`http://127.0.0.1:${port}/hooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': `d-${Math.random()}`,
      'x-hub-signature-256': await githubSign(secret, text),
    },
    body: text,
  });
}

test('zero-config: the summary warns that unsigned webhooks are accepted, and says where things are', async () => {
  const serve = await startServe();
  try {
    const err = serve.stderr();
    assert.match(err, /hookmcp \S+ serve: config none \(zero-config mode\), database \S+events\.db/);
    assert.match(err, /no sources are configured: any \/hooks\/\{source\} accepts UNSIGNED webhooks/);
    assert.match(err, new RegExp(`listening on ${serve.url} \\(webhooks at ${serve.url}/hooks/\\{source\\}, MCP at ${serve.url}/mcp\\)`));
    // The database's directory and file are the owner's alone.
    assert.equal(statSync(serve.dir.file('events.db')).mode & 0o777, 0o600);
  } finally {
    await serve.stop();
  }
});

test('one line per delivery: stored, duplicate, refused with the reason the sender is not told, unknown source', async () => {
  const serve = await startServe({
    config: { sources: { github: { provider: 'github', secrets: ['It\'s a Secret to Everybody'] } } },
  });
  try {
    assert.match(serve.stderr(), /sources: github \(github, signed\)/);
    const body = { ref: 'refs/heads/main' };
    const text = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'abc-1',
      'x-hub-signature-256': await githubSign('It\'s a Secret to Everybody', text),
    };
    const send = () => fetch(`${serve.url}/hooks/github`, { method: 'POST', headers, body: text });
    const first = await send();
    assert.equal(first.status, 202);
    const { id } = await first.json();
    await eventually(serve.stderr, new RegExp(`info webhook 202 github: stored id ${id}, push, delivery abc-1, signature verified`));
    assert.equal((await send()).status, 200);
    await eventually(serve.stderr, new RegExp(`webhook 200 github: duplicate of id ${id}, push, delivery abc-1`));

    const forged = await postGithub(serve.port, 'not the secret', body);
    assert.equal(forged.status, 401);
    assert.deepEqual(await forged.json(), { error: 'signature verification failed' });
    await eventually(serve.stderr, /warning webhook 401 github: refused: signature does not match any secret/);

    const unknown = await postHook(serve.port, 'stripe', { type: 'x' });
    assert.equal(unknown.status, 404);
    await eventually(serve.stderr, /webhook 404 stripe: refused: unknown source "stripe" \(configured: github\)/);

  } finally {
    await serve.stop();
  }
});

test('zero-config: a webhook through a tunnel gets a warning', async () => {
  const serve = await startServe();
  try {
    const posted = await postHook(serve.port, 'demo', { type: 'x' }, { 'x-forwarded-for': '203.0.113.7' });
    assert.equal(posted.status, 202);
    // A sender's bytes cannot start a log line of their own.
    const sneaky = await postHook(serve.port, 'demo', { type: 'x\n2026-01-01T00:00:00.000Z warn fake' });
    assert.equal(sneaky.status, 202);
    await eventually(serve.stderr, /stored id \d+, x\?2026-01-01T00:00:00\.000Z warn fake, delivery \S+, unsigned/);
    assert.doesNotMatch(serve.stderr(), /\n2026-01-01T00:00:00\.000Z warn fake/);
    await eventually(serve.stderr, /came through a proxy or tunnel \(X-Forwarded-For: 203\.0\.113\.7\).*anyone who has the tunnel's URL/);
  } finally {
    await serve.stop();
  }
});

test('--allow-unsigned on a public address without a token warns that /mcp is open', async () => {
  const serve = await startServe({ args: ['--listen', '0.0.0.0:0', '--allow-unsigned'] });
  try {
    assert.match(serve.stderr(), /\/mcp on 0\.0\.0\.0:0 has no bearer token .*anyone who can reach this address can read every event/);
  } finally {
    await serve.stop();
  }
});

test('SIGHUP reloads the sources: a rotated secret works without a restart', async () => {
  const config = (secret) => ({ sources: { github: { provider: 'github', secrets: [secret] } } });
  const serve = await startServe({ config: config('old secret') });
  try {
    assert.equal((await postGithub(serve.port, 'new secret', { n: 1 })).status, 401);
    writeFileSync(serve.dir.file('config.json'), JSON.stringify(config('new secret')));
    serve.child.kill('SIGHUP');
    await eventually(serve.stderr, /config reloaded: sources github/);
    assert.equal((await postGithub(serve.port, 'new secret', { n: 2 })).status, 202);
    assert.equal((await postGithub(serve.port, 'old secret', { n: 3 })).status, 401);

    // A config that no longer loads leaves the running one in place.
    writeFileSync(serve.dir.file('config.json'), '{ not json');
    serve.child.kill('SIGHUP');
    await eventually(serve.stderr, /config not reloaded, the running one stays/);
    assert.equal((await postGithub(serve.port, 'new secret', { n: 4 })).status, 202);
    // What needs a restart is said to need one.
    writeFileSync(serve.dir.file('config.json'),
                  JSON.stringify({ ...config('new secret'), retention: { max_age_days: 7 } }));
    serve.child.kill('SIGHUP');
    await eventually(serve.stderr, /applied only at the next restart: retention/);
    assert.equal(serve.child.exitCode, null);
  } finally {
    await serve.stop();
  }
});

test('/healthz names the service and its database', async () => {
  const serve = await startServe();
  try {
    const res = await fetch(`${serve.url}/healthz`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.service, 'hookmcp');
    assert.match(body.database, /^[0-9a-f]{32}$/);
    assert.match(body.version, /^\d+\.\d+\.\d+/);
  } finally {
    await serve.stop();
  }
});

test('stdio beside a hookmcp on another database says that webhooks will not arrive', async () => {
  const serve = await startServe();
  const other = tempDir();
  const s = await startStdio({ listen: `127.0.0.1:${serve.port}`, db: other.file('mine.db'), expectPort: false });
  try {
    await eventually(s.stderr, /held by another hookmcp that writes another database .*will NOT reach this client. Give both the same --db/);
    assert.doesNotMatch(s.stderr(), /already in use, by another hookmcp on this database/);
    // The session still answers, from its own database.
    const list = await s.client.callTool({ name: 'list_events', arguments: {} });
    assert.deepEqual(list.structuredContent.events, []);
  } finally {
    await s.close();
    await serve.stop();
    other.cleanup();
  }
});

test('stdio beside a program that is not hookmcp says so and how to find it', async () => {
  const foreign = http.createServer((req, res) => { res.statusCode = 404; res.end('nothing here'); });
  await new Promise((r) => foreign.listen(0, '127.0.0.1', r));
  const { port } = foreign.address();
  const s = await startStdio({ listen: `127.0.0.1:${port}`, expectPort: false });
  try {
    await eventually(s.stderr, new RegExp(`held by a program that is not hookmcp \\(GET /healthz answered HTTP 404\\).*ss -ltnp 'sport = :${port}'`));
    await s.client.ping();
  } finally {
    await s.close();
    foreign.close();
  }
});
