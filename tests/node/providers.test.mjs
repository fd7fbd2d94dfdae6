// Interoperability with the providers' own libraries, both ways:
// - deliveries signed by @octokit/webhooks-methods, stripe and standardwebhooks (and, for the
//   providers without a signing library, by their documented scheme over node:crypto) are
//   accepted and stored with the right type, action and delivery id by a running `hookmcp serve`,
//   while forged and stale ones get 401 and are not stored;
// - what `hookmcp send` puts on the wire verifies with those same libraries.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { sign as githubSign, verify as githubVerify } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import { binary, startServe, tempDir } from './lib/hookmcp.mjs';

const stripe = new Stripe('sk_test_hookmcp');

const secrets = {
  github: 'It\'s a Secret to Everybody',
  githubOld: 'the secret before the rotation',
  stripe: 'whsec_hookmcp_stripe_test_secret',
  standard: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  slack: '8f742231b10e8888abcd99yyyzzz85a5',
  shopify: 'shpss_hookmcp_test',
  gitlab: 'glpat-hookmcp-token',
  calendar: '398348u3tu83ut8uu38',
  postmark: 'postmark:0d9a1c6e2f5b',
};

const config = {
  sources: {
    github: { provider: 'github', secrets: [secrets.github, secrets.githubOld] },
    stripe: { provider: 'stripe', secrets: [secrets.stripe] },
    billing: { provider: 'standard', secrets: [secrets.standard] },
    slack: { provider: 'slack', secrets: [secrets.slack] },
    shop: { provider: 'shopify', secrets: [secrets.shopify] },
    gitlab: { provider: 'gitlab', secrets: [secrets.gitlab] },
    calendar: { provider: 'google-calendar', secrets: [secrets.calendar] },
    mail: { provider: 'postmark', secrets: [secrets.postmark] },
  },
};

const nowS = () => Math.floor(Date.now() / 1000);

let server;
before(async () => {
  server = await startServe({ config });
});
after(async () => {
  await server?.stop();
});

async function post(source, headers, body) {
  const res = await fetch(`${server.url}/hooks/${source}`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

// The stored events that match, read with the sqlite3 CLI while the server runs (WAL mode lets
// another process read).
function stored(where, ...params) {
  const quoted = params.map((p) => `'${String(p).replaceAll('\'', '\'\'')}'`);
  // body is a BLOB column: compare and show it as text.
  let sql = `SELECT id, source, provider, type, action, delivery_id, verified, CAST(body AS TEXT) AS body, headers FROM events WHERE ${where.replaceAll('body', 'CAST(body AS TEXT)')}`;
  for (const q of quoted) sql = sql.replace('?', () => q);
  const out = execFileSync('sqlite3', ['-json', server.dir.file('events.db'), sql], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

function storedOne(source, deliveryId) {
  const rows = stored('source = ? AND delivery_id = ?', source, deliveryId);
  assert.equal(rows.length, 1, `one ${source} event with delivery id ${deliveryId}`);
  return rows[0];
}

function assertNotStored(source, body) {
  assert.deepEqual(stored('source = ? AND body = ?', source, body), [], `${source}: nothing stored`);
}

function slackHeaders(body, ts = nowS(), secret = secrets.slack) {
  const sig = createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex');
  return { 'X-Slack-Request-Timestamp': String(ts), 'X-Slack-Signature': `v0=${sig}` };
}

describe('deliveries signed by the providers\' libraries', () => {
  test('github: @octokit/webhooks-methods sign, current and rotated secret', async () => {
    for (const secret of [secrets.github, secrets.githubOld]) {
      const body = JSON.stringify({ action: 'opened', number: 7, secret_used: secret.length });
      const delivery = randomUUID();
      const res = await post('github', {
        'Content-Type': 'application/json',
        'X-GitHub-Event': 'pull_request',
        'X-GitHub-Delivery': delivery,
        'X-Hub-Signature-256': await githubSign(secret, body),
      }, body);
      assert.equal(res.status, 202, res.text);
      const row = storedOne('github', delivery);
      assert.equal(row.type, 'pull_request');
      assert.equal(row.action, 'opened');
      assert.equal(row.verified, 1);
      assert.equal(row.body, body);
    }
  });

  test('github: forged signature is 401 and not stored', async () => {
    const body = JSON.stringify({ action: 'deleted', forged: true });
    const res = await post('github', {
      'X-GitHub-Event': 'repository',
      'X-GitHub-Delivery': randomUUID(),
      'X-Hub-Signature-256': await githubSign('not the secret', body),
    }, body);
    assert.equal(res.status, 401);
    assertNotStored('github', body);
  });

  test('stripe: generateTestHeaderString; stale, future and wrong-secret ones refused', async () => {
    const id = `evt_${randomUUID().replaceAll('-', '')}`;
    const body = JSON.stringify({ id, object: 'event', type: 'invoice.paid', data: { object: {} } });
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: secrets.stripe });
    const res = await post('stripe', { 'Content-Type': 'application/json', 'Stripe-Signature': header }, body);
    assert.equal(res.status, 202, res.text);
    const row = storedOne('stripe', id);
    assert.equal(row.type, 'invoice.paid');
    assert.equal(row.verified, 1);

    for (const [what, secret, timestamp] of [
      ['10 minutes old', secrets.stripe, nowS() - 600],
      ['10 minutes ahead', secrets.stripe, nowS() + 600],
      ['wrong secret', 'whsec_wrong', nowS()],
    ]) {
      const forged = JSON.stringify({ id: `evt_${what.replaceAll(' ', '_')}`, type: 'charge.refunded' });
      const h = stripe.webhooks.generateTestHeaderString({ payload: forged, secret, timestamp });
      const r = await post('stripe', { 'Stripe-Signature': h }, forged);
      assert.equal(r.status, 401, what);
      assertNotStored('stripe', forged);
    }
  });

  test('standard: standardwebhooks sign, under webhook-* and svix-* names', async () => {
    const wh = new Webhook(secrets.standard);
    for (const prefix of ['webhook', 'svix']) {
      const id = `msg_${randomUUID()}`;
      const body = JSON.stringify({ type: 'invoice.created', data: { prefix } });
      const now = new Date();
      const res = await post('billing', {
        'Content-Type': 'application/json',
        [`${prefix}-id`]: id,
        [`${prefix}-timestamp`]: String(Math.floor(now.getTime() / 1000)),
        [`${prefix}-signature`]: wh.sign(id, now, body),
      }, body);
      assert.equal(res.status, 202, `${prefix}: ${res.text}`);
      const row = storedOne('billing', id);
      assert.equal(row.type, 'invoice.created');
      assert.equal(row.verified, 1);
    }
  });

  test('standard: stale, future and wrong-key deliveries refused', async () => {
    const wh = new Webhook(secrets.standard);
    const other = new Webhook('whsec_' + Buffer.from('another key entirely').toString('base64'));
    for (const [what, signer, date] of [
      ['10 minutes old', wh, new Date(Date.now() - 600_000)],
      ['10 minutes ahead', wh, new Date(Date.now() + 600_000)],
      ['wrong key', other, new Date()],
    ]) {
      const id = `msg_${randomUUID()}`;
      const body = JSON.stringify({ type: 'invoice.voided', what });
      const res = await post('billing', {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(date.getTime() / 1000)),
        'webhook-signature': signer.sign(id, date, body),
      }, body);
      assert.equal(res.status, 401, what);
      assertNotStored('billing', body);
    }
  });

  test('slack: events, slash commands, interactivity; url_verification answered, not stored', async () => {
    const eventId = `Ev${randomUUID().slice(0, 8)}`;
    const event = JSON.stringify({ type: 'event_callback', event_id: eventId, event: { type: 'app_mention', text: 'hi' } });
    let res = await post('slack', { 'Content-Type': 'application/json', ...slackHeaders(event) }, event);
    assert.equal(res.status, 202, res.text);
    assert.equal(storedOne('slack', eventId).type, 'app_mention');

    const command = `token=x&team_id=T1&command=%2Fdeploy&text=prod&trigger_id=${randomUUID()}`;
    res = await post('slack', { 'Content-Type': 'application/x-www-form-urlencoded', ...slackHeaders(command) }, command);
    assert.equal(res.status, 202, res.text);
    assert.equal(stored('source = ? AND body = ?', 'slack', command)[0]?.type, '/deploy');

    const payload = { type: 'block_actions', actions: [{ action_id: 'approve' }], trigger: randomUUID() };
    const form = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    res = await post('slack', { 'Content-Type': 'application/x-www-form-urlencoded', ...slackHeaders(form) }, form);
    assert.equal(res.status, 202, res.text);
    const row = stored('source = ? AND body = ?', 'slack', form)[0];
    assert.equal(row?.type, 'block_actions');
    assert.equal(row?.action, 'approve');

    const challenge = randomUUID();
    const handshake = JSON.stringify({ token: 'x', challenge, type: 'url_verification' });
    res = await post('slack', { 'Content-Type': 'application/json', ...slackHeaders(handshake) }, handshake);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { challenge });
    assertNotStored('slack', handshake);

    // The handshake is only answered once its signature checks out.
    res = await post('slack', { 'Content-Type': 'application/json', ...slackHeaders(handshake, nowS(), 'wrong') }, handshake);
    assert.equal(res.status, 401);
    assert.doesNotMatch(res.text, new RegExp(challenge));
  });

  test('slack: stale and forged requests refused', async () => {
    for (const [what, headers] of [
      ['10 minutes old', (b) => slackHeaders(b, nowS() - 600)],
      ['wrong secret', (b) => slackHeaders(b, nowS(), 'not the signing secret')],
      ['no timestamp', (b) => ({ 'X-Slack-Signature': slackHeaders(b)['X-Slack-Signature'] })],
    ]) {
      const body = JSON.stringify({ type: 'event_callback', event_id: `Ev-${what}`, event: { type: 'message' } });
      const res = await post('slack', headers(body), body);
      assert.equal(res.status, 401, what);
      assertNotStored('slack', body);
    }
  });

  test('shopify and gitlab: documented schemes; forgeries refused', async () => {
    const body = JSON.stringify({ id: Date.now(), email: 'jon@doe.ca' });
    const webhookId = randomUUID();
    const hmac = createHmac('sha256', secrets.shopify).update(body).digest('base64');
    let res = await post('shop', {
      'Content-Type': 'application/json',
      'X-Shopify-Topic': 'orders/create',
      'X-Shopify-Webhook-Id': webhookId,
      'X-Shopify-Hmac-Sha256': hmac,
    }, body);
    assert.equal(res.status, 202, res.text);
    assert.equal(storedOne('shop', webhookId).type, 'orders/create');
    const forged = body.replace('jon', 'eve');
    res = await post('shop', { 'X-Shopify-Topic': 'orders/create', 'X-Shopify-Hmac-Sha256': hmac }, forged);
    assert.equal(res.status, 401);
    assertNotStored('shop', forged);

    const mr = JSON.stringify({ object_kind: 'merge_request', object_attributes: { action: 'merge', iid: 3 } });
    const uuid = randomUUID();
    res = await post('gitlab', {
      'Content-Type': 'application/json',
      'X-Gitlab-Event': 'Merge Request Hook',
      'X-Gitlab-Event-UUID': uuid,
      'X-Gitlab-Token': secrets.gitlab,
    }, mr);
    assert.equal(res.status, 202, res.text);
    const row = storedOne('gitlab', uuid);
    assert.equal(row.type, 'Merge Request Hook');
    assert.equal(row.action, 'merge');
    assert.equal(JSON.parse(row.headers)['X-Gitlab-Token'], '[redacted]');

    const other = JSON.stringify({ object_kind: 'push', forged: true });
    res = await post('gitlab', { 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Token': 'guess' }, other);
    assert.equal(res.status, 401);
    assertNotStored('gitlab', other);
  });
});

// Google Calendar and Postmark sign nothing: the channel's token, the webhook URL's Basic
// credentials, sent as Google's guide and Postmark's documentation show.
describe('calendar and mail deliveries, as their providers send them', () => {
  const calendarHeaders = (channel, number, state, token = secrets.calendar) => ({
    'Content-Type': 'application/json; utf-8',
    'X-Goog-Channel-ID': channel,
    'X-Goog-Channel-Token': token,
    'X-Goog-Channel-Expiration': 'Tue, 19 Nov 2013 01:13:52 GMT',
    'X-Goog-Resource-ID': 'ret08u3rv24htgh289g',
    'X-Goog-Resource-URI': 'https://www.googleapis.com/calendar/v3/calendars/primary/events',
    'X-Goog-Resource-State': state,
    'X-Goog-Message-Number': String(number),
  });

  test('google-calendar: the sync message, a change, a wrong token, a repeat', async () => {
    const channel = randomUUID();
    let res = await post('calendar', calendarHeaders(channel, 1, 'sync'), '');
    assert.equal(res.status, 200, res.text);  // the sync message: stored, answered 200
    assert.equal(JSON.parse(res.text).duplicate, false);
    assert.equal(storedOne('calendar', `${channel}:1`).type, 'sync');
    res = await post('calendar', calendarHeaders(channel, 2, 'exists'), '');
    assert.equal(res.status, 202, res.text);
    const row = storedOne('calendar', `${channel}:2`);
    assert.equal(row.type, 'exists');
    assert.equal(row.verified, 1);
    const headers = JSON.parse(row.headers);
    assert.equal(headers['X-Goog-Channel-Token'], '[redacted]');
    assert.equal(headers['X-Goog-Resource-URI'], 'https://www.googleapis.com/calendar/v3/calendars/primary/events');
    res = await post('calendar', calendarHeaders(channel, 2, 'exists'), '');
    assert.equal(res.status, 200, res.text);
    assert.equal(JSON.parse(res.text).duplicate, true);
    res = await post('calendar', calendarHeaders(channel, 3, 'exists', 'guess'), '');
    assert.equal(res.status, 401);
    assert.deepEqual(stored('source = ? AND delivery_id = ?', 'calendar', `${channel}:3`), []);
    const { 'X-Goog-Channel-Token': _, ...tokenless } = calendarHeaders(channel, 4, 'exists');
    res = await post('calendar', tokenless, '');
    assert.equal(res.status, 401);
  });

  test('postmark: inbound email with the URL\'s credentials; wrong ones refused', async () => {
    const sample = JSON.parse(readFileSync(new URL('../../examples/payloads/postmark-inbound.json', import.meta.url), 'utf8'));
    const messageId = randomUUID();
    const body = JSON.stringify({ ...sample, MessageID: messageId });
    // What fetch sends for https://user:password@host/...: Basic and base64 of user:password.
    const basic = (credentials) => `Basic ${Buffer.from(credentials).toString('base64')}`;
    let res = await post('mail', { 'Content-Type': 'application/json', Authorization: basic(secrets.postmark) }, body);
    assert.equal(res.status, 202, res.text);
    const row = storedOne('mail', messageId);
    assert.equal(row.type, 'email.received');
    assert.equal(row.body, body);
    assert.equal(JSON.parse(row.headers).Authorization, '[redacted]');
    const other = JSON.stringify({ ...sample, MessageID: randomUUID() });
    res = await post('mail', { Authorization: basic('postmark:guess') }, other);
    assert.equal(res.status, 401);
    assertNotStored('mail', other);
    res = await post('mail', {}, other);
    assert.equal(res.status, 401);
    assertNotStored('mail', other);
  });
});

// Runs `hookmcp send ARGS...` with `input` on stdin; resolves with its exit code and output.
function send(args, input = '', env = {}) {
  return new Promise((resolve) => {
    const options = { encoding: 'utf8', env: { ...process.env, ...env } };
    const child = execFile(binary, ['send', ...args], options, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
    child.stdin.on('error', () => {});  // a usage error exits before reading stdin
    child.stdin.end(input);
  });
}

// A server that records each request and answers with `status`.
async function captureServer(status = 202) {
  const requests = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ captured: requests.length }));
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${srv.address().port}/hooks/capture?x=1`;
  return { url, requests, close: () => new Promise((r) => srv.close(r)) };
}

describe('hookmcp send, checked by the providers\' libraries', () => {
  let capture;
  let dir;
  before(async () => {
    capture = await captureServer();
    dir = tempDir();
  });
  after(async () => {
    await capture.close();
    dir.cleanup();
  });

  const last = () => capture.requests.at(-1);

  test('github: @octokit/webhooks-methods verify', async () => {
    const body = JSON.stringify({ action: 'created', comment: { body: 'ünïcödé' } });
    writeFileSync(dir.file('github.json'), body);
    const r = await send(['github', '--url', capture.url, '--secret', secrets.github, '--type', 'issue_comment', dir.file('github.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 202 Accepted\n\{"captured":\d+\}\n$/);
    const req = last();
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/hooks/capture?x=1');
    assert.equal(req.body, body);
    assert.equal(await githubVerify(secrets.github, req.body, req.headers['x-hub-signature-256']), true);
    assert.equal(req.headers['x-github-event'], 'issue_comment');
    assert.match(req.headers['x-github-delivery'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(req.headers['content-type'], 'application/json');
  });

  test('stripe: stripe.webhooks.constructEvent', async () => {
    const body = JSON.stringify({ id: 'evt_send', object: 'event', type: 'payment_intent.succeeded' });
    const r = await send(['stripe', '--url', capture.url, '--secret', secrets.stripe, '-'], body);
    assert.equal(r.code, 0, r.stderr);
    const req = last();
    const event = stripe.webhooks.constructEvent(req.body, req.headers['stripe-signature'], secrets.stripe);
    assert.equal(event.type, 'payment_intent.succeeded');
    assert.throws(() => stripe.webhooks.constructEvent(req.body, req.headers['stripe-signature'], 'whsec_other'));
  });

  test('standard: Webhook.verify', async () => {
    const body = JSON.stringify({ type: 'user.deleted', data: { id: 1 } });
    const r = await send(['standard', '--url', capture.url, '--secret', secrets.standard, '-'], body);
    assert.equal(r.code, 0, r.stderr);
    const req = last();
    assert.deepEqual(new Webhook(secrets.standard).verify(req.body, req.headers), JSON.parse(body));
    assert.match(req.headers['webhook-id'], /^msg_/);
  });

  test('slack, shopify, gitlab: their documented schemes', async () => {
    const command = 'command=%2Fdeploy&text=prod';
    let r = await send(['slack', '--url', capture.url, '--secret', secrets.slack, '-'], command);
    assert.equal(r.code, 0, r.stderr);
    let req = last();
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.ok(Math.abs(Number(req.headers['x-slack-request-timestamp']) - nowS()) < 60);
    assert.equal(req.headers['x-slack-signature'], slackHeaders(command, req.headers['x-slack-request-timestamp'])['X-Slack-Signature']);

    const order = JSON.stringify({ id: 1 });
    r = await send(['shopify', '--url', capture.url, '--secret', secrets.shopify, '--type', 'orders/paid', '-'], order);
    assert.equal(r.code, 0, r.stderr);
    req = last();
    assert.equal(req.headers['x-shopify-hmac-sha256'], createHmac('sha256', secrets.shopify).update(order).digest('base64'));
    assert.equal(req.headers['x-shopify-topic'], 'orders/paid');
    assert.ok(req.headers['x-shopify-webhook-id']);

    r = await send(['gitlab', '--url', capture.url, '--secret', secrets.gitlab, '--type', 'Push Hook', '-'], '{}');
    assert.equal(r.code, 0, r.stderr);
    req = last();
    assert.equal(req.headers['x-gitlab-token'], secrets.gitlab);
    assert.equal(req.headers['x-gitlab-event'], 'Push Hook');
    assert.ok(req.headers['x-gitlab-event-uuid']);
  });

  test('google-calendar and postmark: the headers their providers send', async () => {
    let r = await send(['google-calendar', '--url', capture.url, '--secret', secrets.calendar, '--type', 'sync',
      '--delivery-id', 'chan-9:1', '/dev/null']);
    assert.equal(r.code, 0, r.stderr);
    let req = last();
    assert.equal(req.body, '');
    assert.equal(req.headers['x-goog-channel-token'], secrets.calendar);
    assert.equal(req.headers['x-goog-channel-id'], 'chan-9');
    assert.equal(req.headers['x-goog-message-number'], '1');
    assert.equal(req.headers['x-goog-resource-state'], 'sync');
    assert.ok(!Number.isNaN(Date.parse(req.headers['x-goog-channel-expiration'])));

    const inbound = readFileSync(new URL('../../examples/payloads/postmark-inbound.json', import.meta.url), 'utf8');
    r = await send(['postmark', '--url', capture.url, '--secret', secrets.postmark, '--fresh-id', '-'], inbound);
    assert.equal(r.code, 0, r.stderr);
    req = last();
    // node:http reads Basic credentials as a browser would send them from a URL.
    const [scheme, encoded] = req.headers.authorization.split(' ');
    assert.equal(scheme, 'Basic');
    assert.equal(Buffer.from(encoded, 'base64').toString(), secrets.postmark);
    const sent = JSON.parse(req.body);
    assert.match(sent.MessageID, /^[0-9a-f-]{36}$/);
    assert.notEqual(sent.MessageID, JSON.parse(inbound).MessageID);
    assert.equal(sent.Subject, 'Test subject');
  });

  test('--header adds and replaces headers; --delivery-id is kept', async () => {
    const r = await send(['github', '--url', capture.url, '--secret', 's', '--header', 'X-Extra: one',
      '--header=Content-Type:application/vnd.test+json', '--delivery-id', 'd-1', '-'], '{}');
    assert.equal(r.code, 0, r.stderr);
    const req = last();
    assert.equal(req.headers['x-extra'], 'one');
    assert.equal(req.headers['content-type'], 'application/vnd.test+json');
    assert.equal(req.headers['x-github-delivery'], 'd-1');
  });

  test('exit codes: 1 for non-2xx and unreachable, 2 for usage errors naming the flag', async () => {
    const refusing = await captureServer(500);
    let r = await send(['github', '--url', refusing.url, '--secret', 's', '-'], '{}');
    await refusing.close();
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^HTTP\/1\.1 500 Internal Server Error\n/);

    r = await send(['github', '--url', refusing.url, '--secret', 's', '-'], '{}');
    assert.equal(r.code, 1, 'the server is gone');
    assert.match(r.stderr, /connect/i);

    for (const [args, flag] of [
      [['github', '--secret', 's', '-'], '--url'],
      [['github', '--url', capture.url, '-'], '--secret'],
      [['github', '--url', 'ftp://example.com/', '--secret', 's', '-'], '--url'],
      [['github', '--url', capture.url, '--secret', 's', '--header', 'no colon', '-'], '--header'],
      [['github', '--url', capture.url, '--secret', 's', '--bogus', '-'], '--bogus'],
      [['standard', '--url', capture.url, '--secret', 'whsec_***', '-'], '--secret'],
      [['carrier-pigeon', '--url', capture.url, '--secret', 's', '-'], 'carrier-pigeon'],
    ]) {
      r = await send(args, '{}');
      assert.equal(r.code, 2, args.join(' '));
      assert.ok(r.stderr.includes(flag), `${args.join(' ')}: ${r.stderr}`);
    }
  });
});

test('hookmcp send over https checks the certificate', async () => {
  const dir = tempDir();
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
      '-keyout', dir.file('key.pem'), '-out', dir.file('cert.pem')], { stdio: 'ignore' });
    const bodies = [];
    const srv = https.createServer({ key: readFileSync(dir.file('key.pem')), cert: readFileSync(dir.file('cert.pem')) }, (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        bodies.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(202).end('ok');
      });
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const url = `https://localhost:${srv.address().port}/hooks/tls`;
    const body = JSON.stringify({ action: 'tls' });
    // Trusted through SSL_CERT_FILE: sent and verifiable.
    let r = await send(['github', '--url', url, '--secret', secrets.github, '-'], body, { SSL_CERT_FILE: dir.file('cert.pem') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'HTTP/1.1 202 Accepted\nok\n');
    assert.equal(bodies.length, 1);
    assert.equal(await githubVerify(secrets.github, bodies[0].body, bodies[0].headers['x-hub-signature-256']), true);
    // Not trusted: refused before anything is sent.
    r = await send(['github', '--url', url, '--secret', secrets.github, '-'], body, { SSL_CERT_FILE: '/nonexistent' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /certificate/);
    assert.equal(bodies.length, 1);
    await new Promise((res) => srv.close(res));
  } finally {
    dir.cleanup();
  }
});

describe('hookmcp send into hookmcp serve', () => {
  const cases = [
    ['github', 'github', secrets.githubOld, ['--type', 'push'], JSON.stringify({ ref: 'main', n: 1 }), 'push'],
    ['stripe', 'stripe', secrets.stripe, [], JSON.stringify({ id: 'evt_roundtrip', type: 'customer.created' }), 'customer.created'],
    ['standard', 'billing', secrets.standard, [], JSON.stringify({ type: 'plan.changed', n: 2 }), 'plan.changed'],
    ['slack', 'slack', secrets.slack, [], JSON.stringify({ type: 'event_callback', event_id: 'EvRoundTrip', event: { type: 'reaction_added' } }), 'reaction_added'],
    ['shopify', 'shop', secrets.shopify, ['--type', 'products/update'], JSON.stringify({ id: 99 }), 'products/update'],
    ['gitlab', 'gitlab', secrets.gitlab, ['--type', 'Issue Hook'], JSON.stringify({ object_attributes: { action: 'close' } }), 'Issue Hook'],
  ];
  for (const [provider, source, secret, extra, body, type] of cases) {
    test(`${provider}: stored as ${type}, and refused with another secret`, async () => {
      const url = `${server.url}/hooks/${source}`;
      let r = await send([provider, '--url', url, '--secret', secret, ...extra, '-'], body);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /^HTTP\/1\.1 202 Accepted\n/);
      const id = JSON.parse(r.stdout.split('\n')[1]).id;
      const [row] = stored('id = ?', id);
      assert.equal(row.type, type);
      assert.equal(row.body, body);
      assert.equal(row.verified, 1);

      const wrong = provider === 'standard' ? 'whsec_' + Buffer.from('wrong').toString('base64') : `${secret}-wrong`;
      const forged = body.replace('}', ',"forged":true}');
      r = await send([provider, '--url', url, '--secret', wrong, ...extra, '-'], forged);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^HTTP\/1\.1 401 Unauthorized\n/);
      assertNotStored(source, forged);
    });
  }
});
