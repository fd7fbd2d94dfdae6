// Connections against local fakes of the providers' APIs (lib/fake_providers.mjs): hookmcp
// registers a GitHub webhook (pinged with the secret it generated), finds it again after a
// restart and recreates it when deleted; keeps a Calendar channel alive, replacing it before it
// expires with no gap, and reads each changed calendar event (a 410 answered by a full resync);
// (a rate limit answered with backoff); reads Gmail's new messages from the history; subscribes at Graph, reads the changed resource
// and answers lifecycle events; refreshes access tokens, marks a revoked one failed (in
// `connections list`, /metrics and as an event), and signs in again by the loopback and device
// flows. The derived events reach an MCP client (the official SDK) as ordinary events.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { binary, servePublic, tempDir } from './lib/hookmcp.mjs';
import { sleep } from './lib/events.mjs';
import { startFakeProviders } from './lib/fake_providers.mjs';

let fake;
before(async () => { fake = await startFakeProviders(); });
after(async () => { await fake.close(); });

// `hookmcp serve` on a port known in advance, so that public_url can name it.
function serve(dir, config, env = {}) {
  const { __port: port, ...rest } = config;
  return servePublic({ config: rest, file: dir.file('config.json'), db: dir.file('events.db'), port, env });
}

function cli(dir, args, env = {}) {
  return new Promise((resolve) => {
    execFile(binary, [...args, '--db', dir.file('events.db'), '--config', dir.file('config.json')],
      { env: { ...process.env, ...env } }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

async function until(what, check, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function listJson(dir) {
  const r = await cli(dir, ['connections', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return Object.fromEntries(JSON.parse(r.stdout).map((c) => [c.name, c]));
}

async function mcpClient(url) {
  const client = new Client({ name: 'connections-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

async function listEvents(client, source) {
  const r = await client.callTool({ name: 'list_events', arguments: { source, limit: 100 } });
  return r.structuredContent.events;
}

async function getPayload(client, id) {
  const r = await client.callTool({ name: 'get_event', arguments: { id } });
  return r.structuredContent.payload;
}

test('github: a webhook made once with a generated secret, found after a restart, recreated when deleted, removed', async () => {
  const dir = tempDir();
  const config = {
    connections: { gh: { kind: 'github', repository: 'octo/hello', events: ['push', 'pull_request'],
      token: 'env:GH_TOKEN', api_url: `${fake.base}/gh` } },
  };
  const env = { GH_TOKEN: fake.state.githubToken };
  let server = await serve(dir, config, env);
  try {
    await until('the webhook', () => fake.state.hooks.size === 1 && fake.state.pings.length === 1);
    const [hook] = fake.state.hooks.values();
    assert.equal(hook.config.url, `${server.url}/hooks/gh`);
    assert.deepEqual(hook.events, ['push', 'pull_request']);
    assert.equal(hook.config.content_type, 'json');
    assert.match(hook.config.secret, /^[0-9a-f]{64}$/);
    // GitHub's ping, signed with the generated secret, is accepted and stored.
    assert.equal(fake.state.pings[0], 202);
    const gh = (await until('active', async () => { const l = await listJson(dir); return l.gh.status === 'active' && l; })).gh;
    assert.equal(gh.remote_id, String(hook.id));
    assert.equal(gh.source, 'gh');
    assert.ok(!JSON.stringify(gh).includes(hook.config.secret), 'the secret is never shown');
    // The database holding the secret is its owner's alone.
    assert.equal(statSync(dir.file('events.db')).mode & 0o077, 0);

    // A restart finds it: no second hook.
    const port = server.port;
    await server.stop();
    server = await serve(dir, { ...config, __port: port }, env);
    await sleep(1500);
    assert.equal(fake.state.hooks.size, 1);
    assert.equal(fake.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/hooks')).length, 1);

    // Deleted at GitHub: made again at the next start, with a new ping that verifies.
    await server.stop();
    fake.state.hooks.clear();
    server = await serve(dir, { ...config, __port: port }, env);
    await until('the hook again', () => fake.state.hooks.size === 1 && fake.state.pings.length === 2);
    assert.equal(fake.state.pings[1], 202);
    const [again] = fake.state.hooks.values();
    await until('the new id', async () => (await listJson(dir)).gh.remote_id === String(again.id));

    // `connections remove`: deleted at GitHub, out of the config, forgotten.
    await server.stop();
    const removed = await cli(dir, ['connections', 'remove', 'gh'], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(fake.state.hooks.size, 0);
    assert.deepEqual(JSON.parse(readFileSync(dir.file('config.json'), 'utf8')).connections, {});
  } finally {
    await server.stop();
    dir.cleanup();
  }
});

test('a connection added to the config is registered on SIGHUP, with a source made for it', async () => {
  const dir = tempDir();
  const hooksBefore = fake.state.hooks.size;
  const server = await serve(dir, { connections: {} });
  try {
    const config = JSON.parse(readFileSync(server.file, 'utf8'));
    config.connections.later = { kind: 'github', repository: 'octo/later', token: fake.state.githubToken, api_url: `${fake.base}/gh` };
    writeFileSync(server.file, JSON.stringify(config));
    server.child.kill('SIGHUP');
    await until('the webhook', () => fake.state.hooks.size === hooksBefore + 1);
    const hook = [...fake.state.hooks.values()].at(-1);
    assert.equal(hook.config.url, `${server.url}/hooks/later`);
    await until('its ping accepted', () => fake.state.pings.at(-1) === 202);
  } finally {
    await server.stop();
    for (const [id, h] of fake.state.hooks) if (h.config.url.endsWith('/hooks/later')) fake.state.hooks.delete(id);
    dir.cleanup();
  }
});

test('calendar: channel renewed with no gap, changes read as event.created/updated/cancelled, 410 resynced, revoked token failed then signed in again', async () => {
  const dir = tempDir();
  fake.state.refreshTokens.add('1//cal-refresh');
  fake.state.calEvents.set('old', { kind: 'calendar#event', id: 'old', status: 'confirmed', summary: 'Before the watch', created: '2026-11-01T00:00:00Z', updated: '2026-11-01T00:00:00Z' });
  fake.state.calLog.push({ seq: ++fake.state.calSeq, id: 'old' });
  fake.state.channelTtlMs = 6000;  // renewed halfway: after 3 s
  const config = {
    connections: { cal: { kind: 'google-calendar', calendar: 'primary', client_id: 'client-1',
      client_secret: 'env:GOOGLE_SECRET', api_url: `${fake.base}/cal`, token_url: `${fake.base}/google/token` } },
  };
  const env = { GOOGLE_SECRET: 'shh' };
  // No refresh token yet: pending until `connections login` (the loopback flow with PKCE).
  writeFileSync(dir.file('config.json'), JSON.stringify({ public_url: 'http://127.0.0.1:1', ...config }));
  const login = spawn(binary, ['connections', 'login', 'cal', '--timeout', '20', '--db', dir.file('events.db'), '--config', dir.file('config.json')],
    { env: { ...process.env, ...env } });
  let out = '';
  login.stdout.on('data', (c) => { out += c; });
  const authorize = await until('the sign-in URL', () => /(http:\/\/127\.0\.0\.1:\d+\/google\/auth\?\S+)/.exec(out)?.[1]);
  const params = new URL(authorize).searchParams;
  assert.equal(params.get('code_challenge_method'), 'S256');
  assert.equal(params.get('client_id'), 'client-1');
  assert.match(params.get('redirect_uri'), /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  // The browser: the provider's page sends it back to hookmcp's loopback with the code.
  const back = await fetch(authorize);
  assert.equal(back.status, 200);
  assert.match(await back.text(), /signed in/);
  const code = await new Promise((r) => login.on('exit', r));
  assert.equal(code, 0, out);
  assert.match(out, /signed in: connection cal/);

  let server = await serve(dir, config, env);
  const client = await mcpClient(server.url);
  try {
    const first = await until('the first channel', () => fake.state.channels.size === 1 && [...fake.state.channels.values()][0]);
    assert.equal(first.address, `${server.url}/hooks/cal`);
    await until('active', async () => (await listJson(dir)).cal.status === 'active');

    // Changes: each read with the sync token and stored as one event; a rate-limited read is
    // tried again with backoff.
    fake.state.limited.set('/cal/calendars/primary/events', 1);
    assert.deepEqual(await fake.calendarChange('standup', { summary: 'Standup' }), [202]);
    const created = await until('event.created', async () => (await listEvents(client, 'cal')).find((e) => e.type === 'event.created'));
    const payload = await getPayload(client, created.id);
    assert.equal(payload.id, 'standup');
    assert.equal(payload.summary, 'Standup');
    assert.ok(!(await listEvents(client, 'cal')).some((e) => e.type.startsWith('event.') && e.id !== created.id), 'the calendar\'s past is not replayed');
    await fake.calendarChange('standup', { summary: 'Standup (moved)' });
    await until('event.updated', async () => (await listEvents(client, 'cal')).find((e) => e.type === 'event.updated'));
    await fake.calendarChange('standup', 'cancelled');
    await until('event.cancelled', async () => (await listEvents(client, 'cal')).find((e) => e.type === 'event.cancelled'));
    const syncs = fake.calls.filter((c) => c.path === '/cal/calendars/primary/events' && c.query.syncToken);
    assert.ok(syncs.length >= 4, 'three changes and the rate-limited attempt');
    assert.equal(fake.state.limited.get('/cal/calendars/primary/events'), 0);
    const reads = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(reads, /hookmcp_connection_reads_total\{connection="cal",outcome="failed"\} 1/);

    // Renewal: a second channel before the first expires, and the first stopped only after it.
    const second = await until('a new channel', () => [...fake.state.channels.values()].find((c) => c.id !== first.id), 8000);
    await until('the old channel stopped', () => first.stoppedAt > 0);
    assert.ok(second.createdAt <= first.stoppedAt, 'the new channel exists before the old one stops');
    assert.ok(first.stoppedAt < first.expiration, 'replaced before it expired');
    assert.equal(second.token, first.token);

    // An expired sync token (410): a full resync, then reading goes on.
    fake.state.calExpiredBefore = fake.state.calSeq + 1;
    await fake.calendarChange('review', { summary: 'Review' });
    await until('event.created after the resync', async () => (await listEvents(client, 'cal')).filter((e) => e.type === 'event.created').length === 2);
    assert.ok(fake.calls.some((c) => c.path === '/cal/calendars/primary/events' && !c.query.syncToken && c.at > second.createdAt));

    // Revoked: the refresh is refused; the connection is failed, with the reason, everywhere.
    fake.state.refreshTokens.clear();
    fake.state.accessTokens.clear();
    fake.state.channelTtlMs = 2000;
    await fake.calendarChange('review', { summary: 'Review (moved)' });
    const failed = await until('failed', async () => { const l = await listJson(dir); return l.cal.status === 'failed' && l.cal; }, 10000);
    assert.match(failed.reason, /invalid_grant/);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /hookmcp_connection_up\{connection="cal",kind="google-calendar"\} 0/);
    const notice = await until('connection.failed', async () => (await listEvents(client, 'cal')).find((e) => e.type === 'connection.failed'));
    assert.match((await getPayload(client, notice.id)).reason, /invalid_grant/);

    // Signed in again beside the running server: it takes the new token up and is active again.
    fake.state.channelTtlMs = 7 * 24 * 3600 * 1000;
    const again = spawn(binary, ['connections', 'login', 'cal', '--timeout', '20', '--db', dir.file('events.db'), '--config', server.file],
      { env: { ...process.env, ...env } });
    let out2 = '';
    again.stdout.on('data', (c) => { out2 += c; });
    const url2 = await until('the sign-in URL', () => /(http:\/\/127\.0\.0\.1:\d+\/google\/auth\?\S+)/.exec(out2)?.[1]);
    assert.equal((await fetch(url2)).status, 200);
    assert.equal(await new Promise((r) => again.on('exit', r)), 0, out2);
    await until('active again', async () => (await listJson(dir)).cal.status === 'active', 10000);
    await fake.calendarChange('retro', { summary: 'Retro' });
    await until('reading again', async () => (await listEvents(client, 'cal')).filter((e) => e.type === 'event.created').length === 3);
    const log = server.stderr();
    for (const t of [...fake.state.refreshTokens, ...fake.state.accessTokens]) {
      assert.ok(!log.includes(t), 'no token in the log');
    }
  } finally {
    await client.close();
    await server.stop();
    dir.cleanup();
    fake.state.channelTtlMs = 7 * 24 * 3600 * 1000;
  }
});

test('gmail: a Pub/Sub push leads to history.list and one message.received per new message; watched again before it lapses', async () => {
  const dir = tempDir();
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  writeFileSync(dir.file('jwks.json'), JSON.stringify({ keys: [jwk] }));
  fake.state.refreshTokens.add('1//gmail-refresh');
  const AUDIENCE = 'https://hooks.example.com/hooks/mail';
  const ACCOUNT = 'gmail-push@my-project.iam.gserviceaccount.com';
  const config = {
    sources: { mail: { provider: 'gmail', audience: AUDIENCE, service_account: ACCOUNT, jwks_url: `file:${dir.file('jwks.json')}` } },
    connections: { mail: { kind: 'gmail', topic: 'projects/my-project/topics/gmail', label_ids: ['INBOX'],
      client_id: 'client-2', refresh_token: 'env:GMAIL_REFRESH', api_url: `${fake.base}/gmail`, token_url: `${fake.base}/google/token` } },
  };
  fake.state.gmailExpirationMs = 4000;  // watched again halfway: after 2 s
  const server = await serve(dir, config, { GMAIL_REFRESH: '1//gmail-refresh' });
  const client = await mcpClient(server.url);
  try {
    await until('the watch', () => fake.state.gmailWatches.length === 1);
    assert.equal(fake.state.gmailWatches[0].topicName, 'projects/my-project/topics/gmail');
    assert.deepEqual(fake.state.gmailWatches[0].labelIds, ['INBOX']);
    await until('active', async () => (await listJson(dir)).mail.status === 'active');
    fake.gmailReceive('m-1', { from: 'Ada <ada@example.com>', subject: 'Lunch?', snippet: 'Are you free at noon' });
    const historyId = fake.gmailReceive('m-2', { from: 'Bob <bob@example.com>', subject: 'Invoice', snippet: 'Attached' });
    const jwt = await new SignJWT({ email: ACCOUNT, email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }).setIssuer('https://accounts.google.com')
      .setAudience(AUDIENCE).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    const push = {
      message: { data: Buffer.from(JSON.stringify({ emailAddress: 'me@example.com', historyId })).toString('base64'),
        messageId: `${Date.now()}`, publishTime: new Date().toISOString() },
      subscription: 'projects/my-project/subscriptions/gmail-push',
    };
    const res = await fetch(`${server.url}/hooks/mail`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${jwt}` }, body: JSON.stringify(push) });
    assert.equal(res.status, 202);
    const messages = await until('two messages', async () => { const l = (await listEvents(client, 'mail')).filter((e) => e.type === 'message.received'); return l.length === 2 && l; });
    const byId = {};
    for (const m of messages) { const p = await getPayload(client, m.id); byId[p.id] = p; }
    assert.equal(byId['m-1'].from, 'Ada <ada@example.com>');
    assert.equal(byId['m-1'].subject, 'Lunch?');
    assert.equal(byId['m-1'].snippet, 'Are you free at noon');
    assert.equal(byId['m-2'].subject, 'Invoice');
    assert.equal(byId['m-1'].payload, undefined, 'metadata and snippet only, not the body');
    const history = fake.calls.filter((c) => c.path === '/gmail/users/me/history');
    assert.equal(history[0].query.startHistoryId, '5000');
    // Watched again before the watch lapses, reading on from where it stood.
    await until('a second watch', () => fake.state.gmailWatches.length >= 2, 6000);
    assert.ok(fake.state.gmailWatches[1].at - fake.state.gmailWatches[0].at < 4000);
    fake.gmailReceive('m-3', { from: 'Cy <cy@example.com>', subject: 'Again', snippet: 'Third' });
    const again = { ...push, message: { ...push.message, messageId: `${Date.now()}` } };
    assert.equal((await fetch(`${server.url}/hooks/mail`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${jwt}` }, body: JSON.stringify(again) })).status, 202);
    await until('the third message', async () => (await listEvents(client, 'mail')).filter((e) => e.type === 'message.received').length === 3);
  } finally {
    fake.state.gmailExpirationMs = 7 * 24 * 3600 * 1000;
    await client.close();
    await server.stop();
    dir.cleanup();
  }
});

test('msgraph: subscribed after the validation handshake, renewed before expiry, the changed message read, lifecycle events answered, device login', async () => {
  const dir = tempDir();
  const config = {
    connections: { outlook: { kind: 'msgraph', resource: "me/mailFolders('Inbox')/messages", change_type: 'created',
      client_id: 'client-3', api_url: `${fake.base}/graph`, token_url: `${fake.base}/ms/token` } },
  };
  writeFileSync(dir.file('config.json'), JSON.stringify({ public_url: 'http://127.0.0.1:1', ...config }));
  const login = await cli(dir, ['connections', 'login', 'msgraph', '--timeout', '20']);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /enter the code ABCD-EFGH/);
  assert.match(login.stdout, /signed in: connection outlook/);

  fake.state.graphLifetimeMs = 4000;  // renewed halfway: after 2 s
  const server = await serve(dir, config);
  const client = await mcpClient(server.url);
  try {
    const sub = await until('the subscription', () => fake.state.subscriptions.size === 1 && [...fake.state.subscriptions.values()][0]);
    assert.equal(sub.notificationUrl, `${server.url}/hooks/outlook`);
    assert.equal(sub.resource, "me/mailFolders('Inbox')/messages");
    assert.match(sub.clientState, /^[0-9a-f]{64}$/);
    await until('active', async () => (await listJson(dir)).outlook.status === 'active');

    fake.state.graphResources.set('Users/u1/Messages/m1', { '@odata.type': '#microsoft.graph.message', id: 'm1', subject: 'Quarterly report', changeKey: 'ck1', from: { emailAddress: { address: 'ceo@example.com' } } });
    assert.deepEqual(await fake.graphNotify({ changeType: 'created', resource: 'Users/u1/Messages/m1', resourceData: { '@odata.type': '#Microsoft.Graph.Message', id: 'm1' } }), [202]);
    const created = await until('message.created', async () => (await listEvents(client, 'outlook')).find((e) => e.type === 'message.created'));
    assert.equal((await getPayload(client, created.id)).subject, 'Quarterly report');

    // Renewed before it expires, again and again.
    await until('renewed before expiry', () => sub.renewals >= 2, 6000);
    fake.state.graphLifetimeMs = 0;
    await sleep(200);
    // reauthorizationRequired: renewed at once.
    const renewals = sub.renewals;
    await fake.graphNotify({ lifecycleEvent: 'reauthorizationRequired' });
    await until('the renewal', () => sub.renewals === renewals + 1);
    // subscriptionRemoved: subscribed again.
    fake.state.subscriptions.delete(sub.id);
    const removedNote = { lifecycleEvent: 'subscriptionRemoved', subscriptionId: sub.id, clientState: sub.clientState };
    const res = await fetch(`${server.url}/hooks/outlook`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ value: [{ tenantId: 't', subscriptionExpirationDateTime: sub.expirationDateTime, ...removedNote }] }) });
    assert.equal(res.status, 202);
    await until('a new subscription', () => fake.state.subscriptions.size === 1);
    await until('its id listed', async () => (await listJson(dir)).outlook.remote_id === [...fake.state.subscriptions.keys()][0]);
  } finally {
    fake.state.graphLifetimeMs = 0;
    await client.close();
    await server.stop();
    dir.cleanup();
  }
});
