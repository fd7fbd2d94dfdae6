// `hookmcp send` against a real `hookmcp serve`: repeats and --fresh-id for every provider,
// --source signing as a configured source (env: secrets, an hmac source's own scheme), -v, and
// examples/send-samples.sh reporting what was stored.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { binary, startServe, tempDir } from './lib/hookmcp.mjs';

const samplesScript = fileURLToPath(new URL('../../examples/send-samples.sh', import.meta.url));
const allConfig = fileURLToPath(new URL('../../examples/config/all.json', import.meta.url));

// Secrets the server and `send` read from the environment (env:NAME), as a user's shell has them.
const env = {
  SEND_TEST_GITHUB: 'github secret from the environment',
  SEND_TEST_STRIPE: 'whsec_send_test_stripe',
  SEND_TEST_SLACK: 'slack-signing-secret',
  SEND_TEST_STANDARD: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  SEND_TEST_SHOPIFY: 'shpss_send_test',
  SEND_TEST_GITLAB: 'glpat-send-test',
  SEND_TEST_CI: 'ci secret',
};

const sources = {
  github: { provider: 'github', secrets: ['env:SEND_TEST_GITHUB'] },
  stripe: { provider: 'stripe', secrets: ['env:SEND_TEST_STRIPE'] },
  slack: { provider: 'slack', secrets: ['env:SEND_TEST_SLACK'] },
  billing: { provider: 'standard', secrets: ['env:SEND_TEST_STANDARD'] },
  shop: { provider: 'shopify', secrets: ['env:SEND_TEST_SHOPIFY'] },
  gitlab: { provider: 'gitlab', secrets: ['env:SEND_TEST_GITLAB'] },
  // Nothing like the hmac defaults: another header, digest, encoding, timestamp and id header.
  ci: {
    provider: 'hmac', secrets: ['env:SEND_TEST_CI'], header: 'X-Ci-Signature', algorithm: 'sha512',
    encoding: 'base64', timestamp_header: 'X-Ci-Timestamp', signed_template: '{timestamp}:{body}',
    type_header: 'X-Ci-Event', delivery_header: 'X-Ci-Request',
  },
  demo: { provider: 'none', delivery_header: 'X-Demo-Id' },
};

let server;
let dir;
let configPath;  // the config as a user has it: the sources and the port the server listens on
before(async () => {
  server = await startServe({ config: { sources }, env });
  dir = tempDir();
  configPath = dir.file('hookmcp.json');
  writeFileSync(configPath, JSON.stringify({ listen: `127.0.0.1:${server.port}`, sources }));
});
after(async () => {
  await server?.stop();
  dir?.cleanup();
});

// Runs `hookmcp send ARGS...` with `input` on stdin; resolves with its exit code and output.
function send(args, input = '', extraEnv = env) {
  return new Promise((resolve) => {
    const options = { encoding: 'utf8', env: { ...process.env, ...extraEnv } };
    const child = execFile(binary, ['send', ...args], options, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

// The server's answer, {"duplicate":bool,"id":N}, from send's stdout.
function answer(r) {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout.split('\n')[1]);
}

function storedRow(id) {
  const sql = `SELECT source, delivery_id, verified, CAST(body AS TEXT) AS body FROM events WHERE id = ${Number(id)}`;
  const out = execFileSync('sqlite3', ['-json', server.dir.file('events.db'), sql], { encoding: 'utf8' });
  return JSON.parse(out)[0];
}

// Each provider: the source, the arguments of a plain send, and the payload.
const cases = [
  ['github', ['github', '--url', 'URL/github', '--secret', 'env:SEND_TEST_GITHUB', '--type', 'push'], '{"ref":"main"}'],
  ['stripe', ['stripe', '--url', 'URL/stripe', '--secret', 'env:SEND_TEST_STRIPE'], '{\n  "id": "evt_sample",\n  "type": "invoice.paid"\n}\n'],
  ['slack', ['slack', '--url', 'URL/slack', '--secret', 'env:SEND_TEST_SLACK'], '{"type":"event_callback","event_id":"EvSample","event":{"type":"app_mention"}}'],
  ['slack', ['slack', '--url', 'URL/slack', '--secret', 'env:SEND_TEST_SLACK'], 'command=%2Fdeploy&text=prod'],
  ['billing', ['standard', '--url', 'URL/billing', '--secret', 'env:SEND_TEST_STANDARD'], '{"type":"plan.changed"}'],
  ['shop', ['shopify', '--url', 'URL/shop', '--secret', 'env:SEND_TEST_SHOPIFY', '--type', 'orders/paid'], '{"id":1}'],
  ['gitlab', ['gitlab', '--url', 'URL/gitlab', '--secret', 'env:SEND_TEST_GITLAB', '--type', 'Push Hook'], '{"ref":"main"}'],
  ['ci', ['--source', 'ci', '--config', 'CONFIG', '--type', 'build.done'], '{"build":1}'],
  ['demo', ['--source', 'demo', '--config', 'CONFIG'], '{"type":"demo.created"}'],
];
const resolved = (args) => args.map((a) => a.replace('URL', `${server.url}/hooks`).replace('CONFIG', configPath));

describe('repeats and --fresh-id', () => {
  for (const [source, args, body] of cases) {
    const label = `${source} (${body.startsWith('{') ? 'JSON' : 'form'})`;
    test(`${label}: --fresh-id stores every send as a new delivery`, async () => {
      const first = answer(await send([...resolved(args), '--fresh-id', '-'], body));
      const second = answer(await send([...resolved(args), '--fresh-id', '-'], body));
      assert.equal(first.duplicate, false);
      assert.equal(second.duplicate, false);
      assert.notEqual(first.id, second.id);
      const [a, b] = [storedRow(first.id), storedRow(second.id)];
      assert.equal(a.source, source);
      assert.notEqual(a.delivery_id, b.delivery_id);
      assert.equal(a.verified, source === 'demo' ? 0 : 1);
      if (source === 'stripe') {
        assert.match(a.delivery_id, /^evt_[0-9a-f]{24}$/);
        // Only the id changed: the file's layout is kept byte for byte.
        assert.equal(a.body, body.replace('evt_sample', a.delivery_id));
      } else if (source === 'slack' && body.startsWith('{')) {
        assert.match(a.delivery_id, /^Ev[0-9A-F]{16}$/);
      } else if (source === 'slack') {
        assert.match(a.body, /^command=%2Fdeploy&text=prod&trigger_id=[0-9a-f]{32}$/);
      } else {
        assert.equal(a.body, body);
      }
    });
  }

  test('without --fresh-id, a payload that carries its id is stored once; header ids are fresh', async () => {
    for (const [source, args, body] of cases) {
      // Make this test's payloads its own, so the test above cannot have stored them.
      const own = body.startsWith('{') ? body.replace('{', '{"round":"plain",') : `${body}&round=plain`;
      const first = answer(await send([...resolved(args), '-'], own));
      const again = await send([...resolved(args), '-'], own);
      const second = answer(again);
      assert.equal(first.duplicate, false, source);
      const carriesItsId = source === 'stripe' || source === 'slack';
      assert.equal(second.duplicate, carriesItsId, `${source}: ${own}`);
      if (carriesItsId) {
        assert.equal(second.id, first.id);
        assert.match(again.stdout, /^HTTP\/1\.1 200 OK\n/);
        assert.match(again.stderr, new RegExp(`a repeat of event ${first.id}: .*--fresh-id`));
      } else {
        assert.notEqual(second.id, first.id);
        assert.equal(again.stderr, '');
      }
    }
  });

  test('--fresh-id does not go with --delivery-id', async () => {
    const r = await send([...resolved(cases[0][1]), '--fresh-id', '--delivery-id', 'd-1', '-'], '{}');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--fresh-id.*--delivery-id/);
    // Where the id is in the payload, --delivery-id cannot set it, and says so.
    const stripe = await send([...resolved(cases[1][1]), '--delivery-id', 'd-2', '-'], '{"id":"evt_delivery_id_note"}');
    assert.equal(stripe.code, 0, stripe.stderr);
    assert.match(stripe.stderr, /stripe carries the delivery id in the payload; --delivery-id is ignored/);
  });
});

describe('--source', () => {
  test('signs as the configured source, with its env: secret and its URL', async () => {
    const r = await send(['--source', 'github', '--config', configPath, '--type', 'ping', '-'], '{"zen":"source"}');
    const { id } = answer(r);
    const row = storedRow(id);
    assert.equal(row.source, 'github');
    assert.equal(row.verified, 1);
    // HOOKMCP_CONFIG stands for --config, and PROVIDER may be given when it is the source's.
    const viaEnv = await send(['stripe', '--source', 'stripe', '--fresh-id', '-'], '{"type":"t"}', { ...env, HOOKMCP_CONFIG: configPath });
    assert.equal(storedRow(answer(viaEnv).id).verified, 1);
  });

  test('the hmac scheme of the source, not the default X-Signature', async () => {
    const r = await send(['--source', 'ci', '--config', configPath, '-v', '-'], '{"build":2}');
    assert.equal(storedRow(answer(r).id).verified, 1);
    assert.match(r.stderr, /^> X-Ci-Signature: [A-Za-z0-9+/]{86}==$/m);
    assert.match(r.stderr, /^> X-Ci-Timestamp: \d+$/m);
    assert.doesNotMatch(r.stderr, /X-Signature/);
    // Signed with the default scheme instead, the server refuses it.
    const plain = await send(['hmac', '--url', `${server.url}/hooks/ci`, '--secret', env.SEND_TEST_CI, '-'], '{"build":3}');
    assert.equal(plain.code, 1);
    assert.match(plain.stdout, /^HTTP\/1\.1 401/);
  });

  test('--secret and --url replace the source\'s', async () => {
    const r = await send(['--source', 'github', '--config', configPath, '--secret', 'not the secret', '-'], '{}');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^HTTP\/1\.1 401/);
    const elsewhere = await send(['--source', 'github', '--config', configPath, '--url', `${server.url}/hooks/nowhere`, '-'], '{}');
    assert.match(elsewhere.stdout, /^HTTP\/1\.1 404/);
  });

  test('errors name the source and exit 2', async () => {
    const { SEND_TEST_GITHUB: _, ...withoutGithub } = env;
    for (const [args, message, runEnv] of [
      [['--source', 'nope', '--config', configPath], /no source "nope" in .*hookmcp\.json \(its sources: billing, ci, demo, github/],
      [['--source', 'github', '--config', configPath], /source github's secret: environment variable SEND_TEST_GITHUB is not set/, withoutGithub],
      [['--source', 'github'], /--source github needs the config file that defines it: --config FILE or HOOKMCP_CONFIG/],
      [['stripe', '--source', 'github', '--config', configPath], /source github is provider github, not stripe/],
      [['--source', 'github', '--config', dir.file('missing.json')], /--source github: .*cannot read config file/],
      [['github', '--config', configPath, '--url', server.url, '--secret', 's'], /--config goes with --source/],
    ]) {
      const r = await send([...args, '-'], '{}', runEnv ?? env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test('the URL is the listener\'s: https with tls, loopback for a wildcard address', async () => {
    // A port nothing listens on: -v shows where the request was going before it fails.
    const closed = await startServe();
    const port = closed.port;
    await closed.stop();
    writeFileSync(dir.file('cert.pem'), '');
    writeFileSync(dir.file('key.pem'), '');
    const tlsConfig = dir.file('tls.json');
    writeFileSync(tlsConfig, JSON.stringify({
      listen: `0.0.0.0:${port}`,
      tls: { cert_file: dir.file('cert.pem'), key_file: dir.file('key.pem') },
      sources: { github: sources.github },
    }));
    const r = await send(['--source', 'github', '--config', tlsConfig, '-v', '-'], '{}');
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^> POST https://127\\.0\\.0\\.1:${port}/hooks/github$`, 'm'));
  });
});

test('-v prints the signed request and the response to stderr; stdout stays the answer', async () => {
  const body = JSON.stringify({ type: 'invoice.paid', filler: 'x'.repeat(5000) });
  const r = await send(['stripe', '--url', `${server.url}/hooks/stripe`, '--secret', env.SEND_TEST_STRIPE, '--fresh-id', '--verbose', '-'], body);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^HTTP\/1\.1 202 Accepted\n\{"id":\d+,"duplicate":false\}\n$/);
  const lines = r.stderr.split('\n');
  assert.equal(lines[0], `> POST ${server.url}/hooks/stripe`);
  assert.match(r.stderr, /^> Stripe-Signature: t=\d+,v1=[0-9a-f]{64}$/m);
  assert.match(r.stderr, /^> Content-Type: application\/json; charset=utf-8$/m);
  // The body with its fresh "id":"evt_ + 24 hex", added first.
  assert.match(r.stderr, new RegExp(`^> Content-Length: ${body.length + '"id":"evt_",'.length + 24}$`, 'm'));
  assert.match(r.stderr, /^\{"id":"evt_[0-9a-f]{24}","type":"invoice\.paid"/m);
  assert.match(r.stderr, /^\.\.\. \(\d+ more bytes\)$/m);
  assert.ok(r.stderr.length < 4000, 'the body is cut');
  assert.match(r.stderr, /^< HTTP\/1\.1 202 Accepted$/m);
  assert.match(r.stderr, /^< Content-Type: application\/json$/mi);
  // -v is --verbose.
  const short = await send(['github', '--url', `${server.url}/hooks/github`, '--secret', env.SEND_TEST_GITHUB, '-v', '-'], '{}');
  assert.match(short.stderr, /^> X-Hub-Signature-256: sha256=[0-9a-f]{64}$/m);
});

test('send --help says where the delivery id comes from, in 80 columns', async () => {
  const r = await send(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /stripe {2,}the payload's "id", sent as FILE has it/);
  assert.match(r.stdout, /--fresh-id/);
  assert.doesNotMatch(r.stdout, /fresh random delivery id each time\)/);
  for (const line of r.stdout.split('\n')) assert.ok(line.length <= 80, line);
});

test('send-samples.sh reports each sample stored, then the repeats as duplicates', async () => {
  const samples = await startServe({ config: JSON.parse(readFileSync(allConfig, 'utf8')), env: {
    GITHUB_WEBHOOK_SECRET: 'dev-github-secret', STRIPE_WEBHOOK_SECRET: 'whsec_dev-stripe-secret', SLACK_SIGNING_SECRET: 'dev-slack-secret',
  } });
  try {
    const run = (...args) => execFileSync('bash', [samplesScript, ...args, samples.url], {
      encoding: 'utf8',
      env: {
        ...process.env, HOOKMCP: binary,
        GITHUB_WEBHOOK_SECRET: 'dev-github-secret', STRIPE_WEBHOOK_SECRET: 'whsec_dev-stripe-secret', SLACK_SIGNING_SECRET: 'dev-slack-secret',
      },
    });
    const first = run();
    assert.match(first, /^github  stored id (\d+) \(github-pull_request-opened\.json\)$/m);
    assert.match(first, /^github  stored id \d+ \(github-push\.json\)$/m);
    const stripeId = first.match(/^stripe  stored id (\d+) /m)[1];
    const slackId = first.match(/^slack   stored id (\d+) /m)[1];
    assert.equal(first.trim().split('\n').length, 4, first);

    const second = run();
    assert.match(second, /^github  stored id \d+ \(github-push\.json\)$/m);
    assert.match(second, new RegExp(`^stripe  duplicate of id ${stripeId} \\(stripe-payment_intent\\.succeeded\\.json\\)$`, 'm'));
    assert.match(second, new RegExp(`^slack   duplicate of id ${slackId} \\(slack-event_callback\\.json\\)$`, 'm'));

    const fresh = run('--fresh-id');
    assert.equal(fresh.match(/stored id/g).length, 4, fresh);
  } finally {
    await samples.stop();
  }
});
