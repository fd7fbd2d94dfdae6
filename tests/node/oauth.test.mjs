// hookmcp as an OAuth 2.1 resource server, against a real authorization server run locally
// (oauth2-mock-server issues signed JWTs and serves its metadata and JWKS): the protected
// resource metadata (RFC 9728), the 401 and 403 challenges (RFC 6750), every forgery class
// refused, key rotation, an issuer over https, principals, and the MCP TypeScript SDK's own OAuth
// support (client credentials) connecting through discovery.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { writeFileSync } from 'node:fs';

import { OAuth2Server } from 'oauth2-mock-server';
import { SignJWT, UnsecuredJWT, generateKeyPair, exportJWK } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';

import { binary, startServe, tempDir } from './lib/hookmcp.mjs';

const VERSION = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'oauth-test', version: '1.0.0' },
};
const STATIC_TOKEN = 'static-token-for-ci-0123456789';

function freePort() {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// `hookmcp serve` on a port known in advance (the resource URL names it).
async function startHookmcp({ port, oauth, env = {}, extraConfig = {} }) {
  const config = {
    mcp: { tokens: [{ token: STATIC_TOKEN, principal: 'ci' }], oauth },
    events: { allow_private_callbacks: true },
    ...extraConfig,
  };
  const server = await startServe({ config, env, args: ['--listen', `127.0.0.1:${port}`, '--log-level', 'debug'] });
  return { ...server, db: server.dir.file('events.db') };
}

let nextId = 1;
// One MCP 2026-07-28 request; the HTTP status, WWW-Authenticate and the JSON-RPC answer.
async function call(url, method, params, token) {
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': VERSION,
    'Mcp-Method': method,
  };
  if (params?.name && method === 'tools/call') headers['Mcp-Name'] = params.name;
  if (token) headers.Authorization = `Bearer ${token}`;
  const id = nextId++;
  const res = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { _meta: META, ...params } }),
  });
  const text = await res.text();
  let answer;
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    answer = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)))
      .find((m) => m.id === id);
  } else if (text.startsWith('{')) {
    answer = JSON.parse(text);
  }
  return { status: res.status, challenge: res.headers.get('www-authenticate'), answer, text };
}

// The auth-params of a Bearer challenge (RFC 9110 11.6.1) as an object.
function parseChallenge(header) {
  assert.match(header ?? '', /^Bearer /);
  const params = {};
  for (const m of header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/g)) params[m[1]] = m[2];
  return params;
}

let issuer;  // the authorization server, over http on loopback
const keys = {};  // its keys by algorithm, published before hookmcp starts
let port;
let hookmcp;
let resource;

before(async () => {
  issuer = new OAuth2Server();
  for (const alg of ['RS256', 'PS256', 'ES256']) keys[alg] = await issuer.issuer.keys.generate(alg);
  await issuer.start(0, '127.0.0.1');
  port = await freePort();
  resource = `http://127.0.0.1:${port}/mcp`;
  // As a real authorization server does with RFC 8707: the token is for the resource asked for.
  issuer.service.on('beforeTokenSigning', (token, req) => {
    if (req.body.resource) token.payload.aud = req.body.resource;
    if (!token.payload.sub) token.payload.sub = req.body.client_id ?? 'client';
  });
  hookmcp = await startHookmcp({ port, oauth: { issuer: issuer.issuer.url, audience: resource } });
});

after(async () => {
  if (process.env.SHOW_LOG) console.log(hookmcp?.stderr());
  await hookmcp?.stop();
  await issuer?.stop();
});

// A token from the issuer: aud, sub and scope as given, then `transform` on the claims.
function token({ aud = resource, sub = 'alice', scope = 'events:read events:write', expiresIn, kid, transform } = {}) {
  return issuer.issuer.buildToken({
    kid: kid ?? keys.RS256.kid,
    expiresIn,
    scopesOrTransform: (header, payload) => {
      payload.aud = aud;
      payload.sub = sub;
      if (scope !== undefined) payload.scope = scope;
      if (transform) transform(header, payload);
    },
  });
}

test('the protected resource metadata follows RFC 9728 and the 401 points at it', async () => {
  const first = await call(hookmcp.url, 'tools/list', {});
  assert.equal(first.status, 401);
  const challenge = parseChallenge(first.challenge);
  assert.equal(challenge.resource_metadata, `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`);
  assert.equal(challenge.scope, 'events:read events:write');
  assert.equal(challenge.error, undefined, 'no error code when no token was sent (RFC 6750 3.1)');

  for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
    const res = await fetch(`${hookmcp.url}${path}`);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const doc = await res.json();
    // RFC 9728 2: resource is REQUIRED, an https (here loopback http) URL without a fragment;
    // the rest are JSON arrays of strings when present.
    assert.equal(doc.resource, resource);
    assert.ok(!doc.resource.includes('#'));
    assert.deepEqual(doc.authorization_servers, [issuer.issuer.url]);
    assert.deepEqual(doc.scopes_supported, ['events:read', 'events:write']);
    assert.deepEqual(doc.bearer_methods_supported, ['header']);
    for (const [k, v] of Object.entries(doc)) {
      if (k !== 'resource' && k !== 'resource_name') assert.ok(Array.isArray(v) && v.every((s) => typeof s === 'string'), k);
    }
    // RFC 9728 3.3: the resource identifier is the URL the metadata path was built from.
    assert.ok(`${hookmcp.url}${path}`.replace('/.well-known/oauth-protected-resource', '') === resource ||
      path === '/.well-known/oauth-protected-resource');
  }
  // The issuer named there publishes its own metadata, with the keys that sign the tokens.
  const as = await (await fetch(`${issuer.issuer.url}/.well-known/openid-configuration`)).json();
  assert.equal(as.issuer, issuer.issuer.url);
  assert.ok(as.jwks_uri && as.token_endpoint);
});

test('a valid token is accepted whatever key type signs it, and its subject is the principal', async () => {
  for (const alg of ['RS256', 'PS256', 'ES256']) {
    const t = await token({ kid: keys[alg].kid, sub: `user-${alg}` });
    const r = await call(hookmcp.url, 'tools/call', { name: 'list_events', arguments: {} }, t);
    assert.equal(r.status, 200, `${alg}: ${r.text}`);
    assert.ok(r.answer.result, JSON.stringify(r.answer));
  }
  // Static tokens keep working beside OAuth.
  const r = await call(hookmcp.url, 'tools/list', {}, STATIC_TOKEN);
  assert.equal(r.status, 200);
  // The principal is logged (at debug, with each method); the token never is.
  assert.match(hookmcp.stderr(), /MCP tools\/call from user-ES256/);
  assert.doesNotMatch(hookmcp.stderr(), /eyJ/);
});

test('a key the issuer rotates in is picked up at its first token, at most once a minute', async () => {
  const key = await issuer.issuer.keys.generate('ES256');
  const t = await token({ kid: key.kid, sub: 'rotated' });
  const r = await call(hookmcp.url, 'tools/list', {}, t);
  assert.equal(r.status, 200, r.text);
  // A second new key within the minute is not fetched for: keys cannot be made up faster than
  // the issuer is asked.
  const again = await issuer.issuer.keys.generate('ES256');
  const refused = await call(hookmcp.url, 'tools/list', {}, await token({ kid: again.kid }));
  assert.equal(refused.status, 401);
  assert.match(parseChallenge(refused.challenge).error_description, /does not publish/);
  // Many at once, each checked off the I/O thread (a key not held may need a fetch): every one
  // answered, and the server still serves.
  const unknown = await token({ kid: again.kid });
  const all = await Promise.all(Array.from({ length: 40 }, () => call(hookmcp.url, 'tools/list', {}, unknown)));
  assert.deepEqual([...new Set(all.map((r) => r.status))], [401]);
  assert.equal((await call(hookmcp.url, 'tools/list', {}, t)).status, 200);
});

test('every forgery and every wrong claim is refused with 401 invalid_token', async () => {
  const now = Math.floor(Date.now() / 1000);
  const stranger = new OAuth2Server();
  await stranger.issuer.keys.generate('RS256');
  await stranger.start(0, '127.0.0.1');
  const valid = await token();
  const [h, p, s] = valid.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const publicJwk = issuer.issuer.keys.toJSON().find((k) => k.kid === keys.RS256.kid);
  // Each forgery, and the reason the log and error_description give for it.
  const cases = {
    'wrong audience': [await token({ aud: 'https://other.example.com/mcp' }), /another audience/],
    'wrong issuer': [await token({ transform: (_h, c) => { c.iss = 'https://evil.example.com'; } }), /another issuer/],
    expired: [await token({ expiresIn: -120 }), /expired/],
    'not yet valid': [await token({ transform: (_h, c) => { c.nbf = now + 600; } }), /not valid yet/],
    'unknown key': [await stranger.issuer.buildToken({
      scopesOrTransform: (_h, c) => { Object.assign(c, { aud: resource, sub: 'mallory', iss: issuer.issuer.url }); },
    }), /does not publish/],
    'tampered payload': [`${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${s}`, /does not verify/],
    'tampered signature': [`${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`, /does not verify/],
    'alg none': [new UnsecuredJWT({ ...claims }).encode(), /.none. is not accepted/],
    // HS256 keyed with the issuer's public key, as published: the classic key-confusion forgery.
    'HMAC with the public key': [await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid })
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk))), /.HS256. is not accepted/],
    'not a JWT': ['opaque-token', /not a JWT/],
  };
  try {
    for (const [name, [t, reason]] of Object.entries(cases)) {
      const r = await call(hookmcp.url, 'tools/list', {}, t);
      assert.equal(r.status, 401, `${name}: ${r.status} ${r.text}`);
      const c = parseChallenge(r.challenge);
      assert.equal(c.error, 'invalid_token', name);
      assert.ok(c.resource_metadata, name);
      assert.match(c.error_description, reason, name);
    }
    // The reason is in the log.
    assert.match(hookmcp.stderr(), /MCP 401 \/mcp: token expired/);
  } finally {
    await stranger.stop();
  }
});

test('ack_events needs events:write: 403 insufficient_scope, reading still works', async () => {
  const reader = await token({ sub: 'reader', scope: 'events:read' });
  const listed = await call(hookmcp.url, 'tools/call', { name: 'list_events', arguments: {} }, reader);
  assert.equal(listed.status, 200);
  const ack = await call(hookmcp.url, 'tools/call', { name: 'ack_events', arguments: { ids: [1] } }, reader);
  assert.equal(ack.status, 403, ack.text);
  const c = parseChallenge(ack.challenge);
  assert.equal(c.error, 'insufficient_scope');
  assert.match(c.scope, /events:write/);
  const writer = await token({ sub: 'writer' });
  const ok = await call(hookmcp.url, 'tools/call', { name: 'ack_events', arguments: { ids: [1] } }, writer);
  assert.equal(ok.status, 200, ok.text);
  // Without events:read, nothing.
  const none = await call(hookmcp.url, 'tools/list', {}, await token({ scope: 'profile' }));
  assert.equal(none.status, 403);
  assert.equal(parseChallenge(none.challenge).error, 'insufficient_scope');
});

test("a session belongs to its principal: another subject's token does not reach it", async () => {
  const alice = await token({ sub: 'alice' });
  const bob = await token({ sub: 'bob' });
  const init = await fetch(`${hookmcp.url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${alice}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  assert.equal(init.status, 200);
  const session = init.headers.get('mcp-session-id');
  const post = (t) => fetch(`${hookmcp.url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${t}`, 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
  assert.equal((await post(bob)).status, 404);
  assert.equal((await post(alice)).status, 200);
});

test("Events webhook subscriptions belong to the token's subject", async () => {
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const msg = JSON.parse(body);
      res.setHeader('Content-Type', 'application/json');
      res.end(msg.type === 'verification' ? JSON.stringify({ challenge: msg.challenge }) : '{}');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${receiver.address().port}/events`;
    const subscribe = (t) => call(hookmcp.url, 'events/subscribe', {
      name: 'webhook.received', arguments: {},
      delivery: { mode: 'webhook', url, secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` },
    }, t);
    const sub = await subscribe(await token({ sub: 'carol' }));
    assert.ok(sub.answer?.result?.id, sub.text);
    const listed = JSON.parse(execFileSync(binary, ['subscriptions', 'list', '--json', '--db', hookmcp.db],
      { encoding: 'utf8' }));
    assert.deepEqual(listed.map((s) => s.principal), ['carol']);
    // Another subject cannot end it.
    const gone = await call(hookmcp.url, 'events/unsubscribe', {
      name: 'webhook.received', arguments: {}, delivery: { url },
    }, await token({ sub: 'dave' }));
    assert.equal(gone.answer.error?.code, -32023, gone.text);
  } finally {
    receiver.close();
  }
});

test('the MCP SDK connects with its own OAuth support: 401, metadata, token, retry', async () => {
  const seen = [];
  issuer.service.on('beforeTokenSigning', (_t, req) => { seen.push({ ...req.body }); });
  const authProvider = new ClientCredentialsProvider({
    clientId: 'sdk-client', clientSecret: 'sdk-secret', scope: 'events:read events:write', expectedIssuer: issuer.issuer.url,
  });
  const client = new Client({ name: 'oauth-sdk-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider }));
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'ack_events'));
  const result = await client.callTool({ name: 'list_events', arguments: {} });
  assert.ok(!result.isError);
  await client.close();
  // The SDK found the issuer through hookmcp's metadata and asked for this resource (RFC 8707).
  assert.ok(seen.length >= 1);
  assert.equal(seen.at(-1).grant_type, 'client_credentials');
  assert.equal(seen.at(-1).resource, resource);
});

test('an issuer over https is trusted through the system CA store, and only then', async () => {
  const dir = tempDir();
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', dir.file('key.pem'), '-out', dir.file('cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
    const tls = new OAuth2Server(dir.file('key.pem'), dir.file('cert.pem'));
    await tls.issuer.keys.generate('ES256');
    await tls.start(0, 'localhost');
    assert.match(tls.issuer.url, /^https:\/\/localhost:\d+$/);
    const p = await freePort();
    const audience = `http://127.0.0.1:${p}/mcp`;
    const t = await tls.issuer.buildToken({ scopesOrTransform: (_h, c) => { Object.assign(c, { aud: audience, sub: 'tls-user', scope: 'events:read' }); } });
    // Trusting the issuer's certificate (as an operator would add a private CA).
    const trusted = await startHookmcp({ port: p, oauth: { issuer: tls.issuer.url, audience }, env: { SSL_CERT_FILE: dir.file('cert.pem') } });
    try {
      const r = await call(trusted.url, 'tools/list', {}, t);
      assert.equal(r.status, 200, r.text);
    } finally {
      await trusted.stop();
    }
    // Not trusting it: the keys cannot be had, and tokens get 503, not a 2xx nor a 401.
    const p2 = await freePort();
    const untrusted = await startHookmcp({ port: p2, oauth: { issuer: tls.issuer.url, audience }, env: { SSL_CERT_FILE: '/nonexistent.pem', SSL_CERT_DIR: '/nonexistent' } });
    try {
      const r = await call(untrusted.url, 'tools/list', {}, t);
      assert.equal(r.status, 503, r.text);
      assert.match(untrusted.stderr(), /cannot be fetched/);
    } finally {
      await untrusted.stop();
    }
    await tls.stop();
  } finally {
    dir.cleanup();
  }
});

test('check-config refuses a plain-http issuer across the network and names the field', () => {
  const dir = tempDir();
  try {
    writeFileSync(dir.file('c.json'), JSON.stringify({ mcp: { oauth: { issuer: 'http://auth.example.com', audience: 'https://h.example.com/mcp' } } }));
    let out = '';
    try {
      execFileSync(binary, ['check-config', '--config', dir.file('c.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.fail('check-config accepted it');
    } catch (e) {
      assert.equal(e.status, 2);
      out = e.stderr;
    }
    assert.match(out, /mcp\.oauth\.issuer: must be https/);
    writeFileSync(dir.file('c.json'), JSON.stringify({ listen: '0.0.0.0:8787', sources: { s: { provider: 'github', secrets: ['x'] } }, mcp: { oauth: { issuer: 'https://auth.example.com', audience: 'https://h.example.com/mcp' } } }));
    const ok = execFileSync(binary, ['check-config', '--config', dir.file('c.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(ok, /"issuer": "https:\/\/auth\.example\.com"/);
  } finally {
    dir.cleanup();
  }
});
