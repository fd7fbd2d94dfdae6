// `hookmcp client-config CLIENT`: the printed registration names this binary by its absolute
// path, the config and database as absolute arguments and the config's env: variables; and it
// works: the command, arguments and environment it gives, with the placeholders filled in as
// each client fills them, start a hookmcp that the MCP SDK lists the tools of. The same for the
// HTTP registration against a running serve with a bearer token.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { binary, startServe, tempDir } from './lib/hookmcp.mjs';

const secrets = {
  CC_TEST_GITHUB: 'github secret',
  CC_TEST_STANDARD: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  CC_TEST_TOKEN: 'bearer-token-for-the-test',
};
const config = {
  listen: '127.0.0.1:0',
  sources: {
    github: { provider: 'github', secrets: ['env:CC_TEST_GITHUB', 'a literal old secret'] },
    billing: { provider: 'standard', secrets: ['env:CC_TEST_STANDARD'] },
    demo: { provider: 'none' },
  },
  mcp: { tokens: ['env:CC_TEST_TOKEN'] },
};

// How each client writes a value it takes from elsewhere, and fills it in when it starts.
const clients = {
  'claude-code': { key: 'mcpServers', type: 'stdio', written: (v) => `\${${v}}` },
  vscode: { key: 'servers', type: 'stdio', written: (v) => `\${input:${v}}` },
  cursor: { key: 'mcpServers', type: undefined, written: (v) => `\${env:${v}}` },
  'claude-desktop': { key: 'mcpServers', type: undefined, written: () => '' },
};
const fill = (text) => text.replace(/\$\{(?:input:|env:)?([A-Z_]+)\}/g, (_, v) => secrets[v]);

let dir;
before(() => {
  dir = tempDir();
  writeFileSync(dir.file('hookmcp.json'), JSON.stringify(config));
});
after(() => dir?.cleanup());

// Runs `hookmcp client-config ARGS...` in the temporary directory (relative paths resolve there).
function clientConfig(args, env = {}) {
  return new Promise((resolve) => {
    execFile(binary, ['client-config', ...args], { cwd: dir.path, encoding: 'utf8', env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

// The JSON document of the output: all of it, or for claude-code what follows its command line.
function documentOf(stdout) {
  return JSON.parse(stdout.slice(stdout.indexOf('\n{') + 1 || 0));
}

async function toolNames(transport) {
  const client = new Client({ name: 'client-config-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    return tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

describe('stdio registrations', () => {
  for (const [name, c] of Object.entries(clients)) {
    test(`${name}: absolute binary, config and database, the config's variables, and it starts`, async () => {
      const withSecrets = name === 'claude-desktop';  // it expands nothing: the values themselves
      const r = await clientConfig([name, '--config', 'hookmcp.json', '--db', 'events.db', ...(withSecrets ? ['--with-secrets'] : [])], secrets);
      assert.equal(r.code, 0, r.stderr);
      const doc = documentOf(r.stdout);
      const entry = doc[c.key].hookmcp;
      assert.equal(entry.type, c.type);
      assert.equal(entry.command, realpathSync(binary));
      assert.deepEqual(entry.args, ['stdio', '--config', dir.file('hookmcp.json'), '--db', dir.file('events.db')]);
      const vars = ['CC_TEST_GITHUB', 'CC_TEST_STANDARD', 'CC_TEST_TOKEN'];
      assert.deepEqual(Object.keys(entry.env), vars);
      for (const v of vars) assert.equal(entry.env[v], withSecrets ? secrets[v] : c.written(v));
      if (name === 'vscode') {
        assert.deepEqual(doc.inputs.map((i) => [i.id, i.type, i.password]), vars.map((v) => [v, 'promptString', true]));
      }
      if (name === 'claude-code') {
        const line = r.stdout.split('\n').find((l) => l.startsWith('claude mcp add'));
        assert.equal(line, `claude mcp add hookmcp ${vars.map((v) => `-e ${v}="$${v}"`).join(' ')} -- ${realpathSync(binary)} stdio --config ${dir.file('hookmcp.json')} --db ${dir.file('events.db')}`);
        assert.match(r.stderr, /--dangerously-load-development-channels server:hookmcp/);
      }

      // As the client would start it: the placeholders filled in, nothing else of this shell.
      const env = Object.fromEntries(Object.entries(entry.env).map(([k, v]) => [k, fill(v)]));
      const transport = new StdioClientTransport({ command: entry.command, args: entry.args, env, stderr: 'ignore' });
      const tools = await toolNames(transport);
      assert.ok(tools.includes('list_events'), tools.join());
    });
  }

  test('without a config: the zero-setup registration; claude-desktop leaves the values to fill in', async () => {
    const bare = await clientConfig(['cursor'], { HOOKMCP_CONFIG: '', HOOKMCP_DB: '' });
    assert.equal(bare.code, 0, bare.stderr);
    assert.deepEqual(JSON.parse(bare.stdout), { mcpServers: { hookmcp: { command: realpathSync(binary), args: ['stdio'] } } });

    const viaEnv = await clientConfig(['claude-desktop'], { HOOKMCP_CONFIG: 'hookmcp.json', HOOKMCP_DB: 'x.db' });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const entry = JSON.parse(viaEnv.stdout).mcpServers.hookmcp;
    assert.deepEqual(entry.args, ['stdio', '--config', dir.file('hookmcp.json'), '--db', dir.file('x.db')]);
    assert.deepEqual(entry.env, { CC_TEST_GITHUB: '', CC_TEST_STANDARD: '', CC_TEST_TOKEN: '' });
    assert.match(viaEnv.stderr, /fill in the values of env/);
  });

  test('usage errors exit 2', async () => {
    for (const [args, message, env] of [
      [[], /missing CLIENT/],
      [['emacs'], /unknown client "emacs"/],
      [['vscode', 'extra'], /unexpected argument "extra"/],
      [['vscode', '--config', 'missing.json'], /cannot read config file/],
      [['vscode', '--config', 'hookmcp.json', '--with-secrets'], /--with-secrets: CC_TEST_STANDARD is not set/, { ...secrets, CC_TEST_STANDARD: '' }],
    ]) {
      const r = await clientConfig(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});

describe('--http registrations', () => {
  let server;
  before(async () => {
    server = await startServe({ config: { mcp: config.mcp }, env: secrets });
    writeFileSync(dir.file('http.json'), JSON.stringify({ listen: `127.0.0.1:${server.port}`, mcp: config.mcp }));
  });
  after(async () => server?.stop());

  for (const name of ['claude-code', 'vscode', 'cursor']) {
    test(`${name}: the endpoint with its bearer token, and it connects`, async () => {
      const r = await clientConfig([name, '--http', '--config', 'http.json']);
      assert.equal(r.code, 0, r.stderr);
      const c = clients[name];
      const entry = documentOf(r.stdout)[c.key].hookmcp;
      assert.equal(entry.url, `${server.url}/mcp`);
      assert.equal(entry.type, name === 'cursor' ? undefined : 'http');
      assert.equal(entry.headers.Authorization, `Bearer ${c.written('CC_TEST_TOKEN')}`);
      if (name === 'claude-code') {
        assert.match(r.stdout, new RegExp(`^claude mcp add --transport http hookmcp ${server.url}/mcp --header "Authorization: Bearer \\$\\{CC_TEST_TOKEN\\}"$`, 'm'));
      }
      const headers = { Authorization: fill(entry.headers.Authorization) };
      const tools = await toolNames(new StreamableHTTPClientTransport(new URL(entry.url), { requestInit: { headers } }));
      assert.ok(tools.includes('list_events'));
    });
  }

  test('claude-desktop: through mcp-remote, the token in its env', async () => {
    const r = await clientConfig(['claude-desktop', '--http', '--config', 'http.json', '--with-secrets'], secrets);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).mcpServers.hookmcp, {
      command: 'npx',
      args: ['-y', 'mcp-remote', `${server.url}/mcp`, '--header', 'Authorization:${AUTH_HEADER}'],
      env: { AUTH_HEADER: `Bearer ${secrets.CC_TEST_TOKEN}` },
    });
  });
});
