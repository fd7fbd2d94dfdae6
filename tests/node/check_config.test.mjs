// `hookmcp check-config --config FILE` on the mistakes people make in their first hour: each one
// reported as `error: FIELD: MESSAGE` on stderr, all of them at once, exit code 2; a good config
// gets its effective settings on stdout and one OK line on stderr. `serve` refuses the same
// errors and starts, with a warning, where a field only has no effect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { binary, startServe, tempDir } from './lib/hookmcp.mjs';

// The environment of the test without the variables these configs name, or hookmcp's own.
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('HOOKMCP_') || name.endsWith('_WEBHOOK_SECRET')) delete env[name];
  }
  return { ...env, ...extra };
}

// Runs check-config on `config` (an object, or the file's text) and splits stderr into lines.
function checkConfig(config, { env = {}, args = [] } = {}) {
  const dir = tempDir();
  try {
    const file = dir.file('config.json');
    writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
    const r = spawnSync(binary, ['check-config', '--config', file, '--db', dir.file('events.db'), ...args], {
      env: cleanEnv(env),
      encoding: 'utf8',
    });
    return { code: r.status, stdout: r.stdout, lines: r.stderr.split('\n').filter(Boolean), file, dir: dir.path };
  } finally {
    dir.cleanup();
  }
}

test('every env: variable that is not set is reported at once', () => {
  const r = checkConfig({
    mcp: { tokens: ['env:HOOKMCP_TOKEN'] },
    sources: {
      github: { provider: 'github', secrets: ['env:GITHUB_WEBHOOK_SECRET'] },
      stripe: { provider: 'stripe', secrets: ['env:STRIPE_WEBHOOK_SECRET'] },
    },
  });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.lines, [
    'error: mcp.tokens[0]: environment variable HOOKMCP_TOKEN is not set',
    'error: sources.github.secrets[0]: environment variable GITHUB_WEBHOOK_SECRET is not set',
    'error: sources.stripe.secrets[0]: environment variable STRIPE_WEBHOOK_SECRET is not set',
    `FAILED: ${r.file}: 3 errors`,
  ]);
});

test('invalid JSON names its line and column', () => {
  const r = checkConfig('{\n  "listen": "127.0.0.1:8787",\n  "sources": {\n    "demo": { "provider": "none" },\n  }\n}\n');
  assert.equal(r.code, 2);
  assert.equal(r.lines.length, 2, r.lines.join('\n'));
  assert.equal(r.lines[0], `error: ${r.file}:5:3: not valid JSON: syntax error while parsing object key - unexpected '}'; expected string literal`);
});

test('a secret written as $VAR or ${VAR} points at env:VAR', () => {
  const r = checkConfig({
    mcp: { tokens: ['${HOOKMCP_TOKEN}'] },
    sources: { github: { provider: 'github', secrets: ['$GITHUB_WEBHOOK_SECRET'] } },
  }, { env: { GITHUB_WEBHOOK_SECRET: 'set-but-not-expanded', HOOKMCP_TOKEN: 'set-too' } });
  assert.equal(r.code, 2);
  assert.deepEqual(r.lines.slice(0, 2), [
    'error: mcp.tokens[0]: "${HOOKMCP_TOKEN}" is not expanded: hookmcp does not expand shell variables; write "env:HOOKMCP_TOKEN" to read the environment variable HOOKMCP_TOKEN',
    'error: sources.github.secrets[0]: "$GITHUB_WEBHOOK_SECRET" is not expanded: hookmcp does not expand shell variables; write "env:GITHUB_WEBHOOK_SECRET" to read the environment variable GITHUB_WEBHOOK_SECRET',
  ]);
});

test('a secret with a stray newline or spaces is an error that does not show the secret', () => {
  const secret = 'f00dcafe0123456789abcdef';
  const r = checkConfig({
    sources: {
      github: { provider: 'github', secrets: ['env:GITHUB_WEBHOOK_SECRET'] },
      slack: { provider: 'slack', secrets: [` ${secret}`] },
    },
  }, { env: { GITHUB_WEBHOOK_SECRET: `${secret}\n` } });
  assert.equal(r.code, 2);
  assert.deepEqual(r.lines, [
    'error: sources.github.secrets[0]: environment variable GITHUB_WEBHOOK_SECRET ends with a newline; remove it (secrets are compared byte for byte)',
    'error: sources.slack.secrets[0]: the secret starts with a space; remove it (secrets are compared byte for byte)',
    `FAILED: ${r.file}: 2 errors`,
  ]);
  assert.ok(!r.lines.join('\n').includes(secret));
});

test('a Stripe secret that is not whsec_... says where the right one is', () => {
  const r = checkConfig({
    sources: { stripe: { provider: 'stripe', secrets: ['env:STRIPE_WEBHOOK_SECRET'] } },
  }, { env: { STRIPE_WEBHOOK_SECRET: 'sk_test_51Habcdefghijklmnop' } });
  assert.equal(r.code, 2);
  assert.equal(r.lines[0], 'error: sources.stripe.secrets[0]: a Stripe webhook signing secret starts with "whsec_" (this is an API key): copy the signing secret from the Stripe Dashboard\'s page of the webhook endpoint (Developers > Webhooks), or the one `stripe listen` prints');
  assert.ok(!r.lines.join('\n').includes('51Habcdefghijklmnop'));
});

test('TLS files that do not exist are named', () => {
  const r = checkConfig({ tls: { cert_file: '/nonexistent/cert.pem', key_file: '/nonexistent/key.pem' } });
  assert.equal(r.code, 2);
  assert.deepEqual(r.lines, [
    'error: tls.cert_file: "/nonexistent/cert.pem" does not exist',
    'error: tls.key_file: "/nonexistent/key.pem" does not exist',
    `FAILED: ${r.file}: 2 errors`,
  ]);
});

test('mcp.channel.sources must name configured sources', () => {
  const r = checkConfig({
    mcp: { channel: { sources: ['github', 'stirpe'] } },
    sources: {
      github: { provider: 'github', secrets: ['a-github-secret'] },
      stripe: { provider: 'stripe', secrets: ['whsec_a'] },
    },
  });
  assert.equal(r.code, 2);
  assert.equal(r.lines[0], 'error: mcp.channel.sources[1]: "stirpe" is not a configured source (sources: github, stripe)');
});

test('unknown fields are errors, each one named', () => {
  const r = checkConfig({ lisen: '127.0.0.1:8787', sources: { github: { provider: 'github', secret: ['s'] } } });
  assert.equal(r.code, 2);
  assert.match(r.lines[0], /^error: lisen: unknown field \(expected one of: listen, /);
  assert.match(r.lines[1], /^error: sources\.github\.secret: unknown field \(expected one of: provider, secrets, /);
  assert.equal(r.lines[2], 'error: sources.github.secrets: provider "github" needs at least one secret');
});

test('a good config: effective settings on stdout, one OK line on stderr', () => {
  const r = checkConfig({
    mcp: { tokens: ['env:HOOKMCP_TOKEN'] },
    sources: {
      github: { provider: 'github', secrets: ['env:GITHUB_WEBHOOK_SECRET'], ignore_types: ['ping'] },
      stripe: { provider: 'stripe', secrets: ['env:STRIPE_WEBHOOK_SECRET'] },
      demo: { provider: 'none' },
    },
  }, { env: { GITHUB_WEBHOOK_SECRET: 'gh-secret', STRIPE_WEBHOOK_SECRET: 'whsec_stripe', HOOKMCP_TOKEN: 'tok' } });
  assert.equal(r.code, 0, r.lines.join('\n'));
  const db = `${r.dir}/events.db`;
  assert.deepEqual(r.lines, [
    `OK: ${r.file}: 3 sources (github, stripe signed; demo unsigned), listen 127.0.0.1:8787, database ${db}, 1 MCP token`,
  ]);
  const effective = JSON.parse(r.stdout);
  assert.equal(effective.database, db);
  assert.deepEqual(effective.sources.github.secrets, ['env:GITHUB_WEBHOOK_SECRET']);
});

test('a field its provider does not read is a warning; the config is still OK', () => {
  const r = checkConfig({ sources: { github: { provider: 'github', secrets: ['a-github-secret'], tolerance_s: 600 } } });
  assert.equal(r.code, 0, r.lines.join('\n'));
  assert.equal(r.lines.length, 2);
  assert.equal(r.lines[0], 'warning: sources.github.tolerance_s: does not apply to provider "github" (only to stripe, slack, standard, mailgun and hmac); it is ignored');
  assert.match(r.lines[1], /^OK: .*: 1 source \(github signed\), listen 127\.0\.0\.1:8787, database .*, no MCP token; 1 warning above$/);
});

test('serve refuses the same errors, all of them', () => {
  const dir = tempDir();
  try {
    writeFileSync(dir.file('config.json'), JSON.stringify({
      sources: {
        github: { provider: 'github', secrets: ['env:GITHUB_WEBHOOK_SECRET'] },
        stripe: { provider: 'stripe', secrets: ['rk_live_restricted'] },
      },
    }));
    const r = spawnSync(binary, ['serve', '--listen', '127.0.0.1:0', '--db', dir.file('e.db'), '--config', dir.file('config.json')], {
      env: cleanEnv(),
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 2, r.stderr);
    assert.equal(lines[0], `hookmcp serve: ${dir.file('config.json')}: sources.github.secrets[0]: environment variable GITHUB_WEBHOOK_SECRET is not set`);
    assert.match(lines[1], /^hookmcp serve: .*: sources\.stripe\.secrets\[0\]: a Stripe webhook signing secret starts with "whsec_" \(this is an API key\)/);
  } finally {
    dir.cleanup();
  }
});

test('serve starts with a field that has no effect, and logs it', async () => {
  const server = await startServe({
    config: { sources: { ci: { provider: 'gitlab', secrets: ['glpat-token'], header: 'X-Gitlab-Token' } } },
  });
  try {
    assert.match(server.stderr(), /config: .*config\.json: sources\.ci\.header: does not apply to provider "gitlab" \(only to hmac\); it is ignored/);
  } finally {
    await server.stop();
  }
});

test('check-config --help lists what it checks', () => {
  const r = spawnSync(binary, ['check-config', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const words of ['error: FIELD: MESSAGE', 'env:NAME', 'whsec_', 'line and column', 'warning: FIELD: MESSAGE']) {
    assert.ok(r.stdout.includes(words), words);
  }
});
