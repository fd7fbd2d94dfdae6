// The email and calendar providers against a running `hookmcp serve`, signed by independent
// implementations: jose for Pub/Sub's OIDC tokens (with a local JWKS server standing in for
// Google's), node:crypto for Mailgun's HMAC, SendGrid's ECDSA and SNS's RSA signatures (with an
// openssl-made certificate served locally standing in for Amazon's), and @sendgrid/eventwebhook
// checking what `hookmcp send sendgrid` puts on the wire. Each forgery class is refused with 401
// and stores nothing.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, createSign, generateKeyPairSync, randomUUID, sign as cryptoSign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet } from 'jose';
import sendgrid from '@sendgrid/eventwebhook';
import { binary, startServe, tempDir } from './lib/hookmcp.mjs';

const { EventWebhook, EventWebhookHeader } = sendgrid;
const nowS = () => Math.floor(Date.now() / 1000);

const AUDIENCE = 'https://hooks.example.com/hooks/gmail';
const ACCOUNT = 'gmail-push@my-project.iam.gserviceaccount.com';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-inbound';
const CLIENT_STATE = 'graph-client-state-4f1e';
const MAILGUN_KEY = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';

let google; // { privateKey, kid }
let stranger; // another RSA key, same kid
let sendgridKeys;
let amazon; // { keyPem, certPath }
let fakes; // the local stand-ins for Google's JWKS, Amazon's certificates and SubscribeURL
const seen = []; // paths asked of the fakes
let server;
let dir;

function startFakes(jwks, certPem) {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      seen.push(req.url);
      if (req.url === '/oauth2/v3/certs') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(jwks));
      } else if (req.url.startsWith('/sns/') && req.url.endsWith('.pem')) {
        res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
        res.end(certPem);
      } else if (req.url.startsWith('/sns/?Action=ConfirmSubscription')) {
        res.writeHead(200, { 'Content-Type': 'text/xml' });
        res.end('<ConfirmSubscriptionResponse/>');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

before(async () => {
  dir = tempDir();
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'google-key-1', alg: 'RS256', use: 'sig' };
  google = { privateKey, kid: 'google-key-1' };
  stranger = { privateKey: (await generateKeyPair('RS256')).privateKey, kid: 'google-key-1' };

  sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout',
    dir.file('sns-key.pem'), '-out', dir.file('sns-cert.pem'), '-subj', '/CN=sns.amazonaws.com',
    '-days', '2'], { stdio: 'ignore' });
  amazon = { keyPem: readFileSync(dir.file('sns-key.pem'), 'utf8') };

  fakes = await startFakes({ keys: [jwk] }, readFileSync(dir.file('sns-cert.pem'), 'utf8'));
  const base = `http://127.0.0.1:${fakes.address().port}`;
  amazon.base = base;
  server = await startServe({
    config: {
      sources: {
        gmail: { provider: 'gmail', audience: AUDIENCE, service_account: ACCOUNT,
          jwks_url: `${base}/oauth2/v3/certs` },
        'gmail-keys-down': { provider: 'gmail', audience: AUDIENCE, service_account: ACCOUNT,
          jwks_url: 'http://127.0.0.1:1/oauth2/v3/certs' },
        outlook: { provider: 'msgraph', secrets: [CLIENT_STATE] },
        inbound: { provider: 'mailgun', secrets: [MAILGUN_KEY] },
        sendgrid: { provider: 'sendgrid',
          public_key: sendgridKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
        ses: { provider: 'sns', topic_arns: [TOPIC], auto_confirm: true, cert_url_prefix: `${base}/sns/` },
        'ses-manual': { provider: 'sns', topic_arns: [TOPIC], cert_url_prefix: `${base}/sns/` },
      },
    },
  });
});

after(async () => {
  await server?.stop();
  fakes?.close();
});

async function post(source, headers, body, query = '') {
  const res = await fetch(`${server.url}/hooks/${source}${query}`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type'),
    nosniff: res.headers.get('x-content-type-options') };
}

function stored(where, ...params) {
  const quoted = params.map((p) => `'${String(p).replaceAll('\'', '\'\'')}'`);
  let sql = `SELECT id, source, type, delivery_id, verified, CAST(body AS TEXT) AS body, headers FROM events WHERE ${where}`;
  for (const q of quoted) sql = sql.replace('?', () => q);
  const out = execFileSync('sqlite3', ['-json', server.dir.file('events.db'), sql], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}
const count = (source) => stored('source = ?', source).length;

function getEvent(id) {
  return JSON.parse(execFileSync(binary, ['events', 'get', String(id), '--json', '--db',
    server.dir.file('events.db')], { encoding: 'utf8' }));
}

describe('gmail: Pub/Sub push with an OIDC token', () => {
  const envelope = (id) => JSON.stringify({
    message: {
      data: Buffer.from(JSON.stringify({ emailAddress: 'user@example.com', historyId: '9876543210' })).toString('base64'),
      messageId: id, publishTime: new Date().toISOString(),
    },
    subscription: 'projects/my-project/subscriptions/gmail-push',
  });
  const token = (claims = {}, key = google, header = {}) => new SignJWT({
    email: ACCOUNT, email_verified: true, azp: '1137', ...claims,
  }).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header })
    .setIssuer(claims.iss ?? 'https://accounts.google.com')
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject('113774264463038321964')
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '1h')
    .sign(key.privateKey);

  test('a token jose signs is accepted, and message.data is read back', async () => {
    const id = `${Date.now()}1`;
    const res = await post('gmail', { 'Content-Type': 'application/json', Authorization: `Bearer ${await token()}` }, envelope(id));
    assert.equal(res.status, 202, res.text);
    const [row] = stored('source = ? AND delivery_id = ?', 'gmail', id);
    assert.equal(row.type, 'gmail.history');
    assert.equal(row.verified, 1);
    assert.match(row.headers, /"authorization":"\[redacted\]"/i);
    const event = getEvent(row.id);
    assert.deepEqual(event.payload_fields, { emailAddress: 'user@example.com', historyId: '9876543210' });
  });

  test('wrong audience, account, issuer, key, expiry or verification: 401, nothing stored', async () => {
    const forgeries = {
      'wrong audience': await token({ aud: 'https://evil.example.com/push' }),
      'another service account': await token({ email: 'attacker@evil.iam.gserviceaccount.com' }),
      'email not verified': await token({ email_verified: false }),
      'another issuer': await token({ iss: 'https://evil.example.com' }),
      'expired': await token({ exp: nowS() - 600 }),
      'signed by another key': await token({}, stranger),
      'unsigned': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ aud: AUDIENCE, email: ACCOUNT })).toString('base64url')}.`,
    };
    const before = count('gmail');
    for (const [name, jwt] of Object.entries(forgeries)) {
      const res = await post('gmail', { Authorization: `Bearer ${jwt}` }, envelope(`forged-${name}`));
      assert.equal(res.status, 401, `${name}: ${res.text}`);
    }
    const res = await post('gmail', { 'Content-Type': 'application/json' }, envelope('no-token'));
    assert.equal(res.status, 401);
    assert.equal(count('gmail'), before);
  });

  test('while Google\'s keys cannot be fetched, a push is answered 503 to be retried, not stored', async () => {
    const res = await fetch(`${server.url}/hooks/gmail-keys-down`, {
      method: 'POST', headers: { Authorization: `Bearer ${await token()}` }, body: envelope('keys-down'),
    });
    assert.equal(res.status, 503, await res.text());
    assert.equal(res.headers.get('retry-after'), '10');
    assert.equal(count('gmail-keys-down'), 0);
  });

  test('hookmcp send gmail makes a token that jose verifies against the JWKS it wrote', async () => {
    const keys = dir.file('gmail-keys');
    execFileSync(binary, ['send', 'gmail', '--new-key', keys]);
    const jwks = JSON.parse(readFileSync(`${keys}/jwks.json`, 'utf8'));
    const got = await capture(['send', 'gmail', '--key', `${keys}/key.pem`, '--audience', AUDIENCE,
      '--service-account', ACCOUNT]);
    const jwt = got.headers.authorization.replace(/^Bearer /, '');
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks), {
      issuer: 'https://accounts.google.com', audience: AUDIENCE,
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.email, ACCOUNT);
    assert.equal(payload.email_verified, true);
  });
});

// Runs `hookmcp send ARGS FILE --url` against a local receiver; what it received.
async function capture(args, body = '{"message":{"data":"e30=","messageId":"1"},"subscription":"s"}') {
  const file = dir.file(`payload-${randomUUID()}`);
  writeFileSync(file, body);
  let got;
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got = { headers: req.headers, body: Buffer.concat(chunks) };
      res.writeHead(202);
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const { execFile } = await import('node:child_process');
  await new Promise((resolve, reject) => execFile(binary, [...args, '--url',
    `http://127.0.0.1:${receiver.address().port}/in`, file], (err, out, errText) => (err ? reject(new Error(errText)) : resolve(out))));
  receiver.close();
  return got;
}

describe('msgraph: Microsoft Graph change notifications', () => {
  const item = (change, message, state = CLIENT_STATE) => ({
    subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07',
    subscriptionExpirationDateTime: '2026-12-10T11:00:00.0000000Z',
    changeType: change,
    resource: `Users/u1/Messages/${message}`,
    resourceData: { '@odata.type': '#Microsoft.Graph.Message', '@odata.etag': `W/"${message}"`, id: message },
    clientState: state,
    tenantId: '84bd8158-6d4d-4958-8b9f-9d6445542f95',
  });

  test('the validation request is echoed as text/plain and nothing is stored', async () => {
    const before = count('outlook');
    const res = await post('outlook', { 'Content-Type': 'text/plain; charset=utf-8' }, '',
      '?validationToken=Validation%3A%20Testing%20client%20application');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'Validation: Testing client application');
    assert.match(res.type, /^text\/plain/);
    assert.equal(res.nosniff, 'nosniff');  // never sniffed into HTML, whatever the token holds
    assert.equal(count('outlook'), before);
  });

  test('a batch is stored one event per notification; one bad clientState refuses it whole', async () => {
    const m = randomUUID();
    const forged = JSON.stringify({ value: [item('created', `${m}-a`), item('created', `${m}-b`, 'guess')] });
    assert.equal((await post('outlook', { 'Content-Type': 'application/json' }, forged)).status, 401);
    assert.equal(stored('source = ? AND delivery_id LIKE ?', 'outlook', `%${m}%`).length, 0);

    const batch = JSON.stringify({ value: [item('created', `${m}-a`), item('updated', `${m}-a`), item('deleted', `${m}-b`)] });
    const res = await post('outlook', { 'Content-Type': 'application/json' }, batch);
    assert.equal(res.status, 202, res.text);
    assert.equal(JSON.parse(res.text).ids.length, 3);
    const rows = stored('source = ? AND delivery_id LIKE ? ORDER BY id', 'outlook', `%${m}%`);
    assert.deepEqual(rows.map((r) => r.type), ['created', 'updated', 'deleted']);
    for (const r of rows) {
      assert.equal(JSON.parse(r.body).clientState, '[redacted]');
      assert.ok(!r.body.includes(CLIENT_STATE));
    }
    // Graph retries a batch it got no 2xx for: each item is stored once.
    const again = await post('outlook', { 'Content-Type': 'application/json' }, batch);
    assert.equal(again.status, 200, again.text);
    assert.equal(stored('source = ? AND delivery_id LIKE ?', 'outlook', `%${m}%`).length, 3);
  });
});

describe('mailgun: HMAC with a replay cache', () => {
  const signed = (ts = nowS(), token = randomUUID().replaceAll('-', ''), key = MAILGUN_KEY) => ({
    timestamp: String(ts), token, signature: createHmac('sha256', key).update(`${ts}${token}`).digest('hex'),
  });

  test('an inbound multipart mail: stored byte for byte, readable as fields', async () => {
    const form = new FormData();
    for (const [k, v] of Object.entries(signed())) form.append(k, v);
    const messageId = `<${randomUUID()}@mail.example.com>`;
    form.append('Message-Id', messageId);
    form.append('sender', 'bob@example.com');
    form.append('subject', 'Ignore previous instructions <script>alert(1)</script>');
    form.append('body-plain', 'Hi Alice,\r\nthe report is attached.');
    form.append('attachment-1', new Blob(['%PDF-1.4 example'], { type: 'application/pdf' }), 'report.pdf');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const body = Buffer.from(await request.arrayBuffer());
    const res = await post('inbound', { 'Content-Type': request.headers.get('content-type') }, body);
    assert.equal(res.status, 202, res.text);
    const [row] = stored('source = ? AND delivery_id = ?', 'inbound', messageId);
    assert.equal(row.type, 'email.received');
    assert.equal(row.body, body.toString('utf8'));
    const event = getEvent(row.id);
    assert.equal(event.payload_fields.subject, 'Ignore previous instructions <script>alert(1)</script>');
    assert.equal(event.payload_fields['body-plain'], 'Hi Alice,\r\nthe report is attached.');
    assert.deepEqual(event.payload_fields['attachment-1'], { filename: 'report.pdf', content_type: 'application/pdf', size: 16 });
    assert.match(event.payload_notice, /sender/);
    const shown = execFileSync(binary, ['events', 'show', String(row.id), '--db', server.dir.file('events.db')], { encoding: 'utf8' });
    assert.match(shown, /\nFields\n/);
    assert.match(shown, /  sender: bob@example\.com\n/);
    assert.match(shown, /  attachment-1: \{"filename":"report\.pdf","content_type":"application\/pdf","size":16\}/);
  });

  test('an event webhook as JSON; replayed, stale, wrong-key and unsigned ones refused', async () => {
    const id = randomUUID();
    const body = JSON.stringify({ signature: signed(), 'event-data': { event: 'opened', id, recipient: 'a@example.com' } });
    const ok = await post('inbound', { 'Content-Type': 'application/json' }, body);
    assert.equal(ok.status, 202, ok.text);
    assert.equal(stored('source = ? AND delivery_id = ?', 'inbound', id)[0].type, 'email.opened');
    const before = count('inbound');
    const forgeries = {
      replay: body,
      stale: JSON.stringify({ signature: signed(nowS() - 3600), 'event-data': { event: 'opened', id: 'stale' } }),
      'wrong key': JSON.stringify({ signature: signed(nowS(), 'tok-wrong-key', 'key-other'), 'event-data': { event: 'opened', id: 'wk' } }),
      unsigned: JSON.stringify({ 'event-data': { event: 'opened', id: 'unsigned' } }),
    };
    for (const [name, forgery] of Object.entries(forgeries)) {
      const res = await post('inbound', { 'Content-Type': 'application/json' }, forgery);
      assert.equal(res.status, 401, `${name}: ${res.text}`);
    }
    assert.equal(count('inbound'), before);
  });
});

describe('sendgrid: ECDSA P-256', () => {
  test('node:crypto signs the Event Webhook; each event is its own; forgeries refused', async () => {
    const ids = [randomUUID(), randomUUID()];
    const body = JSON.stringify([
      { email: 'a@example.com', event: 'processed', sg_event_id: ids[0], timestamp: nowS() },
      { email: 'a@example.com', event: 'delivered', sg_event_id: ids[1], timestamp: nowS() },
    ]);
    const ts = String(nowS());
    const sig = (key, t, b) => cryptoSign('sha256', Buffer.from(t + b), key).toString('base64');
    const headers = (s, t) => ({ 'Content-Type': 'application/json',
      'X-Twilio-Email-Event-Webhook-Signature': s, 'X-Twilio-Email-Event-Webhook-Timestamp': t });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    for (const [name, h, b] of [
      ['wrong key', headers(sig(other, ts, body), ts), body],
      ['other timestamp', headers(sig(sendgridKeys.privateKey, ts, body), String(nowS() + 5)), body],
      ['tampered', headers(sig(sendgridKeys.privateKey, ts, body), ts), body.replace('processed', 'bounce')],
      ['unsigned', { 'Content-Type': 'application/json' }, body],
    ]) {
      assert.equal((await post('sendgrid', h, b)).status, 401, name);
    }
    assert.equal(stored('source = ? AND delivery_id IN (?, ?)', 'sendgrid', ...ids).length, 0);
    const res = await post('sendgrid', headers(sig(sendgridKeys.privateKey, ts, body), ts), body);
    assert.equal(res.status, 202, res.text);
    const rows = stored('source = ? AND delivery_id IN (?, ?) ORDER BY id', 'sendgrid', ...ids);
    assert.deepEqual(rows.map((r) => r.type), ['email.processed', 'email.delivered']);
  });

  test('what hookmcp send sendgrid sends, @sendgrid/eventwebhook verifies', async () => {
    const keys = dir.file('sendgrid-keys');
    execFileSync(binary, ['send', 'sendgrid', '--new-key', keys]);
    const got = await capture(['send', 'sendgrid', '--key', `${keys}/key.pem`],
      '[{"event":"open","sg_event_id":"x1","email":"a@example.com"}]');
    const ew = new EventWebhook();
    const key = ew.convertPublicKeyToECDSA(readFileSync(`${keys}/public_key.txt`, 'utf8').trim());
    assert.ok(ew.verifySignature(key, got.body.toString('utf8'),
      got.headers[EventWebhookHeader.SIGNATURE().toLowerCase()],
      got.headers[EventWebhookHeader.TIMESTAMP().toLowerCase()]));
  });
});

describe('sns: Amazon SNS and SES', () => {
  const signSns = (m, version = '2', keyPem = amazon.keyPem) => {
    const names = m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
    const text = names.filter((n) => m[n] !== undefined).map((n) => `${n}\n${m[n]}\n`).join('');
    const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
    signer.update(text);
    return JSON.stringify({ ...m, SignatureVersion: version, Signature: signer.sign(keyPem, 'base64') });
  };
  const notification = (extra = {}) => ({
    Type: 'Notification', MessageId: randomUUID(), TopicArn: TOPIC,
    Subject: 'Amazon SES Email Receipt Notification',
    Message: JSON.stringify({ notificationType: 'Received', mail: { messageId: 'o3vrnil0e2ic28tr', commonHeaders: { subject: 'Quarterly report' } } }),
    Timestamp: new Date().toISOString(),
    SigningCertURL: `${amazon.base}/sns/SimpleNotificationService-1.pem`,
    ...extra,
  });

  test('signature versions 1 and 2 are accepted; SES notifications typed by notificationType', async () => {
    for (const version of ['1', '2']) {
      const m = notification();
      const res = await post('ses', { 'Content-Type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, signSns(m, version));
      assert.equal(res.status, 202, res.text);
      assert.equal(stored('source = ? AND delivery_id = ?', 'ses', m.MessageId)[0].type, 'Received');
    }
    assert.equal(seen.filter((p) => p.endsWith('.pem')).length, 1, 'the certificate is fetched once');
  });

  test('another topic, another key, a certificate elsewhere, unsigned: 401, nothing fetched from elsewhere', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const before = count('ses');
    const fetched = seen.length;
    const cases = {
      'another topic': signSns(notification({ TopicArn: 'arn:aws:sns:us-east-1:999999999999:theirs' })),
      'another key': signSns(notification(), '2', other),
      'certificate from another host': signSns(notification({ SigningCertURL: 'https://evil.example.com/cert.pem' })),
      'certificate outside the prefix': signSns(notification({ SigningCertURL: `${amazon.base}/elsewhere/c.pem` })),
      tampered: signSns(notification()).replace('Quarterly', 'Quarterlz'),
      unsigned: JSON.stringify(notification()),
    };
    for (const [name, body] of Object.entries(cases)) {
      const res = await post('ses', { 'Content-Type': 'text/plain; charset=UTF-8' }, body);
      assert.equal(res.status, 401, `${name}: ${res.text}`);
    }
    assert.equal(count('ses'), before);
    assert.equal(seen.length, fetched, 'no certificate was fetched for them');
  });

  test('a SubscriptionConfirmation is stored, and confirmed only where auto_confirm is set', async () => {
    const confirmation = () => ({
      Type: 'SubscriptionConfirmation', MessageId: randomUUID(), TopicArn: TOPIC,
      Token: randomUUID().replaceAll('-', ''), Message: 'You have chosen to subscribe to the topic.',
      SubscribeURL: `${amazon.base}/sns/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=${randomUUID()}`,
      Timestamp: new Date().toISOString(), SigningCertURL: `${amazon.base}/sns/SimpleNotificationService-1.pem`,
    });
    const auto = confirmation();
    const res = await post('ses', { 'Content-Type': 'text/plain; charset=UTF-8' }, signSns(auto));
    assert.equal(res.status, 202, res.text);
    assert.equal(stored('source = ? AND delivery_id = ?', 'ses', auto.MessageId)[0].type, 'subscription_confirmation');
    for (let i = 0; i < 50 && !seen.includes(auto.SubscribeURL.slice(amazon.base.length)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(seen.includes(auto.SubscribeURL.slice(amazon.base.length)), 'SubscribeURL was fetched');

    const manual = confirmation();
    assert.equal((await post('ses-manual', {}, signSns(manual))).status, 202);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!seen.includes(manual.SubscribeURL.slice(amazon.base.length)), 'left for a person');
    const [row] = stored('source = ? AND delivery_id = ?', 'ses-manual', manual.MessageId);
    assert.equal(row.type, 'subscription_confirmation');
    assert.equal(JSON.parse(row.body).SubscribeURL, manual.SubscribeURL);
  });
});
