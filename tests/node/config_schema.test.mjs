// schemas/config.schema.json accepts every example config and the one in DESIGN, and rejects
// the mistakes the config parser rejects, so that an editor's schema check agrees with
// `hookmcp check-config`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const schema = JSON.parse(readFileSync(join(root, 'schemas', 'config.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const errors = () => ajv.errorsText(validate.errors);

const configDir = join(root, 'examples', 'config');
const examples = readdirSync(configDir).filter((f) => f.endsWith('.json')).sort();

test('there are example configs to check', () => {
  for (const name of ['github.json', 'stripe.json', 'slack.json', 'hmac.json']) {
    assert.ok(examples.includes(name), `examples/config/${name} is missing`);
  }
});

for (const name of examples) {
  test(`examples/config/${name} is valid against the schema`, () => {
    const config = JSON.parse(readFileSync(join(configDir, name), 'utf8'));
    assert.ok(validate(config), `${name}: ${errors()}`);
  });
}

test('the schema rejects what the parser rejects', () => {
  const bad = [
    { listen: '127.0.0.1:8787', unknown_field: true },
    { sources: { github: { provider: 'github' } } },
    { sources: { dev: { provider: 'none', secrets: ['x'] } } },
    { sources: { ci: { provider: 'hmac', secrets: ['x'] } } },
    { sources: { x: { provider: 'carrier-pigeon', secrets: ['x'] } } },
    { sources: { 'bad name': { provider: 'none' } } },
    { sources: { '..': { provider: 'none' } } },
    { sources: { '.': { provider: 'none' } } },
    { durability: 'sometimes' },
    { sources: { github: { provider: 'github', secrets: ['$GITHUB_WEBHOOK_SECRET'] } } },
    { sources: { github: { provider: 'github', secrets: ['${GITHUB_WEBHOOK_SECRET}'] } } },
    { sources: { github: { provider: 'github', secrets: ['secret\n'] } } },
    { sources: { github: { provider: 'github', secrets: [' secret'] } } },
    { mcp: { tokens: ['env:'] } },
    { sources: { stripe: { provider: 'stripe', secrets: ['sk_live_abc'] } } },
    { mcp: { channel: { events: {} } } },
    { mcp: { oauth: { issuer: 'https://auth.example.com' } } },
    { mcp: { oauth: { issuer: 'auth.example.com', audience: 'https://h.example.com/mcp' } } },
    { mcp: { oauth: { issuer: 'https://auth.example.com', audience: 'a', jwks_cache_s: 5 } } },
    { triggers: { t: { match: {} } } },
    { triggers: { t: { forward: { url: 'http://127.0.0.1:3000/' } } } },
    { triggers: { t: { match: {}, run: { argv: ['/a'] }, notify: { message: 'm' } } } },
    { triggers: { t: { match: {}, forward: { url: 'ftp://x/' } } } },
    { triggers: { t: { match: { payload: { action: 'opened' } }, notify: { message: 'm' } } } },
    { triggers: { t: { match: {}, run: { argv: [] } } } },
    { triggers: { 'bad name': { match: {}, notify: { message: 'm' } } } },
  ];
  for (const config of bad) {
    assert.equal(validate(config), false, `accepted ${JSON.stringify(config)}`);
  }
});

// check-config warns about these (serve ignores them); an editor flags them the same way.
test('the schema flags fields a provider does not read', () => {
  const flagged = [
    { sources: { github: { provider: 'github', secrets: ['s'], tolerance_s: 60 } } },
    { sources: { stripe: { provider: 'stripe', secrets: ['whsec_a'], header: 'X-Sig' } } },
    { sources: { slack: { provider: 'slack', secrets: ['s'], type_header: 'X-Type' } } },
    { sources: { dev: { provider: 'none', algorithm: 'sha1' } } },
  ];
  for (const config of flagged) {
    assert.equal(validate(config), false, `accepted ${JSON.stringify(config)}`);
  }
});

test('the schema accepts what the parser accepts', () => {
  const good = [
    { events: { allow_private_callbacks: true, max_subscriptions_per_principal: 5 } },
    { mcp: { channel: { sources: ['github'] } } },
    { mcp: { oauth: { issuer: 'https://auth.example.com/realms/team', audience: 'https://h.example.com/mcp', scopes: ['events:read', 'events:write'], jwks_cache_s: 600, leeway_s: 30 } } },
    { sources: { github: { provider: 'github', secrets: ['It\'s a Secret to Everybody', 'pa$$word'] } } },
    { sources: { stripe: { provider: 'stripe', secrets: ['env:STRIPE_WEBHOOK_SECRET', 'whsec_a'], tolerance_s: 60 } } },
    { sources: { ci: { provider: 'hmac', secrets: ['s'], header: 'X-Sig', timestamp_header: 'X-Ts', tolerance_s: 60, type_header: 'X-Kind' } } },
    { sources: { dev: { provider: 'none', type_pointer: '/kind', delivery_header: 'X-Id' } } },
  ];
  for (const config of good) {
    assert.ok(validate(config), `${JSON.stringify(config)}: ${errors()}`);
  }
});
