// `cmake --install` as a user runs it: into a temporary prefix, then the installed hookmcp is run
// from there, and what came with it (man page, completions, systemd unit, examples) is checked.
// HOOKMCP_BUILD_DIR is the build tree to install from, HOOKMCP_VERSION the project's version.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tempDir, waitForPort } from './lib/hookmcp.mjs';

const build = process.env.HOOKMCP_BUILD_DIR ?? new URL('../../build', import.meta.url).pathname;
const version = process.env.HOOKMCP_VERSION;
const dir = tempDir();
const prefix = dir.file('prefix');
const installed = join(prefix, 'bin', 'hookmcp');

const run = (file, args, options = {}) => execFileSync(file, args, { encoding: 'utf8', ...options });
let manifest = [];
const install = (...args) => run('cmake', ['--install', build, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
const cmakeCache = readFileSync(join(build, 'CMakeCache.txt'), 'utf8');
const buildType = cmakeCache.match(/^CMAKE_BUILD_TYPE:STRING=(.*)$/m)[1];

// Every file under root, as paths relative to it.
function filesUnder(root) {
  const out = [];
  const walk = (path) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

// The section headers of an ELF file, as readelf lists them.
const sections = (file) => run('readelf', ['-S', '--wide', file]);
const hasDebugInfo = (file) => /\s\.debug_info\s/.test(sections(file));

// The option names a command's --help lists ("  --name VALUE   what" lines).
function helpOptions(args) {
  const text = run(installed, [...args, '--help']);
  return [...text.matchAll(/^ {2}(?:-h, )?(--[a-z-]+)/gm)].map((m) => m[1]);
}

// The commands of a help text's "Commands:" block: the first word of each line indented by two
// spaces (a description may go on over lines indented further).
const commandsIn = (text) => [...(text.match(/^Commands:\n((?: {2}.*\n)+)/m)?.[1] ?? '')
  .matchAll(/^ {2}([a-z]\S*)/gm)].map((m) => m[1]);

// Every command line that takes options, as --help tells them: each command of `hookmcp --help`,
// or its subcommands (those in its own "Commands:" block, or the one its usage line names).
function commandPaths() {
  const paths = [];
  for (const command of commandsIn(run(installed, ['--help']))) {
    const text = run(installed, [command, '--help']);
    const subcommands = commandsIn(text);
    const named = text.match(new RegExp(`^Usage: hookmcp ${command} ([a-z][a-z-]*)\\b`))?.[1];
    if (subcommands.length > 0) paths.push(...subcommands.map((s) => [command, s]));
    else if (named) paths.push([command, named]);
    else paths.push([command]);
  }
  return paths;
}

before(() => {
  install('--prefix', prefix, '--strip');
  // What this install wrote, before another one overwrites the list.
  manifest = readFileSync(join(build, 'install_manifest.txt'), 'utf8').split('\n').filter(Boolean);
});
after(() => dir.cleanup());

test('the installed hookmcp prints its version and help', () => {
  assert.equal(run(installed, ['--version']).trim(), `hookmcp ${version}`);
  assert.match(run(installed, ['--help']), /^Usage: hookmcp COMMAND/);
});

test('the installed hookmcp serves: a webhook is stored and events list reads it back', async () => {
  const db = dir.file('x.db');
  const child = spawn(installed, ['serve', '--listen', '127.0.0.1:0', '--db', db], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const port = await waitForPort(child);
    const r = await fetch(`http://127.0.0.1:${port}/hooks/demo`, {
      method: 'POST',
      body: JSON.stringify({ type: 'demo.created', id: 1 }),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(r.status, 202, await r.text());
    const listed = JSON.parse(run(installed, ['events', 'list', '--json', '--db', db]));
    assert.deepEqual(listed.events.map((e) => [e.source, e.type]), [['demo', 'demo.created']]);
  } finally {
    child.kill('SIGTERM');
  }
  assert.deepEqual(await exited, { code: 0, signal: null });
});

test('the prefix holds hookmcp, its man page, completions, unit and examples, and no tests', () => {
  const files = filesUnder(prefix);
  for (const path of [
    'bin/hookmcp',
    'share/man/man1/hookmcp.1',
    'share/bash-completion/completions/hookmcp',
    'share/zsh/site-functions/_hookmcp',
    'lib/systemd/system/hookmcp.service',
    'share/doc/hookmcp/examples/config/production.json',
    'share/doc/hookmcp/examples/clients/claude_desktop_config.json',
    'share/doc/hookmcp/examples/send-samples.sh',
  ]) {
    assert.ok(files.includes(path), `${path} is not installed:\n${files.join('\n')}`);
  }
  assert.deepEqual(files.filter((f) => f.startsWith('bin/')), ['bin/hookmcp']);
  assert.deepEqual(files.filter((f) => /_test|conformance|gtest|bench/.test(f)), []);
  assert.ok(statSync(join(prefix, 'share/doc/hookmcp/examples/send-samples.sh')).mode & 0o111,
    'send-samples.sh is not executable');
});

test("the unit's ExecStart names the installed binary", () => {
  const unit = readFileSync(join(prefix, 'lib/systemd/system/hookmcp.service'), 'utf8');
  const execStart = unit.match(/^ExecStart=(.*)$/m)[1];
  assert.equal(execStart, `${installed} serve --config /etc/hookmcp/config.json`);
});

test('--strip installs hookmcp without debug information or a symbol table', () => {
  const s = sections(installed);
  assert.doesNotMatch(s, /\.debug_|\.symtab/);
});

test('a Release install is stripped without --strip; other builds keep their symbols', () => {
  const release = dir.file('release');
  install('--prefix', release, '--config', 'Release');
  assert.equal(hasDebugInfo(join(release, 'bin/hookmcp')), false);
  if (buildType === 'RelWithDebInfo' || buildType === 'Debug') {
    const plain = dir.file('plain');
    install('--prefix', plain);
    assert.equal(hasDebugInfo(join(plain, 'bin/hookmcp')), true, `a ${buildType} install lost its symbols`);
  }
});

test('the man page renders, with every command and option of --help', (t) => {
  const page = join(prefix, 'share/man/man1/hookmcp.1');
  const source = readFileSync(page, 'utf8');
  assert.match(source, /^\.TH HOOKMCP 1 "" "hookmcp [^"]+" "User Commands"$/m);
  const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', page], { encoding: 'utf8' });
  if (groff.error) return t.skip('groff is not installed');
  assert.equal(groff.status, 0, groff.stderr);
  assert.equal(groff.stderr, '', 'groff warns about the page');
  // The rendered text, without overstriking or colour escapes.
  const text = groff.stdout.replace(/.\x08/g, '').replace(/\x1b\[[0-9;]*m/g, '');
  const paths = commandPaths();
  assert.ok(paths.length >= 9, JSON.stringify(paths));
  for (const path of paths) {
    assert.match(text, new RegExp(`^ {3}hookmcp ${path.join(' ')}$`, 'm'), `no section for ${path.join(' ')}`);
    for (const option of helpOptions(path)) {
      assert.ok(text.includes(option), `the page lacks ${option} of hookmcp ${path.join(' ')}`);
    }
  }
});

// COMPREPLY of the installed bash completion for a command line whose last word is being typed.
function bashComplete(...words) {
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _hookmcp; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = run('bash', ['-c', script, 'bash', join(prefix, 'share/bash-completion/completions/hookmcp'), ...words]);
  return out.split('\n').filter(Boolean);
}

test('bash completes commands, subcommands and option values', () => {
  assert.deepEqual(bashComplete('hookmcp', 'ev'), ['events']);
  assert.deepEqual(bashComplete('hookmcp', 'events', 'se'), ['search']);
  assert.deepEqual(bashComplete('hookmcp', 'events', 'list', '--status', ''), ['pending', 'acked', 'all']);
  assert.deepEqual(bashComplete('hookmcp', 'serve', '--log-level', 'debug', '--allow'), ['--allow-unsigned']);
  assert.ok(bashComplete('hookmcp', 'send', '').includes('github'));
  assert.ok(bashComplete('hookmcp', 'send', '--url', 'http://x', '').includes('github'));
  assert.deepEqual(bashComplete('hookmcp', 'send', 'github', '--url', 'http://x', '--del'), ['--delivery-id']);
  const spaced = dir.file('my config.json');
  writeFileSync(spaced, '{}');
  assert.deepEqual(bashComplete('hookmcp', 'serve', '--config', dir.file('my')), [spaced]);
});

test('bash completion offers every command, subcommand and option that --help lists', () => {
  const paths = commandPaths();
  assert.ok(paths.length >= 9, JSON.stringify(paths));
  for (const [command, subcommand] of paths) {
    assert.ok(bashComplete('hookmcp', '').includes(command), `hookmcp <TAB> lacks ${command}`);
    if (subcommand) {
      assert.ok(bashComplete('hookmcp', command, '').includes(subcommand), `hookmcp ${command} <TAB> lacks ${subcommand}`);
    }
  }
  for (const path of paths) {
    const offered = bashComplete('hookmcp', ...path, '--');
    for (const option of helpOptions(path)) {
      assert.ok(offered.includes(option), `hookmcp ${path.join(' ')} --<TAB> lacks ${option}: ${offered.join(' ')}`);
    }
  }
});

test('the zsh completion parses', (t) => {
  const zsh = spawnSync('zsh', ['-n', join(prefix, 'share/zsh/site-functions/_hookmcp')], { encoding: 'utf8' });
  if (zsh.error) return t.skip('zsh is not installed');
  assert.equal(zsh.status, 0, zsh.stderr);
});

test('every installed file is under the prefix', () => {
  assert.ok(manifest.length >= 8, manifest.join('\n'));
  assert.deepEqual(manifest.filter((path) => !path.startsWith(`${prefix}/`)), []);
});
