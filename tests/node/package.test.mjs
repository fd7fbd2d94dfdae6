// `cpack -G DEB` on the build tree: the .deb's control fields, its contents, its postinst, and
// the hookmcp inside it, extracted and run. HOOKMCP_BUILD_DIR is the build tree, HOOKMCP_VERSION
// the project's version.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './lib/hookmcp.mjs';

const build = process.env.HOOKMCP_BUILD_DIR ?? new URL('../../build', import.meta.url).pathname;
const version = process.env.HOOKMCP_VERSION;
const dir = tempDir();
const run = (file, args) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let deb;

before(() => {
  run('cpack', ['--config', join(build, 'CPackConfig.cmake'), '-G', 'DEB', '-B', dir.path]);
  const debs = readdirSync(dir.path).filter((f) => f.endsWith('.deb'));
  assert.equal(debs.length, 1, readdirSync(dir.path).join(' '));
  deb = join(dir.path, debs[0]);
});
after(() => dir.cleanup());

const field = (name) => run('dpkg-deb', ['-f', deb, name]).trim();

test('the .deb is named and described', () => {
  const arch = run('dpkg', ['--print-architecture']).trim();
  assert.equal(deb.slice(dir.path.length + 1), `hookmcp_${version}_${arch}.deb`);
  assert.equal(field('Package'), 'hookmcp');
  assert.equal(field('Version'), version);
  assert.equal(field('Architecture'), arch);
  assert.equal(field('Section'), 'net');
  assert.match(field('Maintainer'), /\S+ <[^>]+@[^>]+>/);
  assert.match(field('Description'), /^Webhooks in, MCP out/);
  assert.match(field('Recommends'), /ca-certificates/);
});

test('Depends names the libraries hookmcp links', () => {
  const depends = field('Depends').split(/,\s*/).map((d) => d.split(' ')[0]);
  const linked = run('ldd', [join(build, 'hookmcp')]);
  // Each shared library hookmcp links comes from a package the .deb depends on.
  // (libspdlog1.10 provides libspdlog1.10-fmt9, the name its shlibs file gives.)
  for (const [lib, pkg] of [['libssl.so.3', /^libssl3$/], ['libcrypto.so.3', /^libssl3$/],
    ['libsqlite3.so.0', /^libsqlite3-0$/], ['libspdlog.so', /^libspdlog1\.10/], ['libfmt.so', /^libfmt\d/],
    ['libc.so.6', /^libc6$/]]) {
    if (linked.includes(lib)) assert.ok(depends.some((d) => pkg.test(d)), `Depends lacks ${pkg} for ${lib}: ${depends}`);
  }
  assert.ok(depends.includes('libc6'), depends.join(', '));
});

test('the .deb holds /usr/bin/hookmcp, its man page, completions, unit and examples, and no tests', () => {
  const listed = run('dpkg-deb', ['-c', deb]).split('\n').filter(Boolean).map((line) => line.split(/\s+/).slice(5).join(' '));
  for (const path of ['./usr/bin/hookmcp', './usr/share/man/man1/hookmcp.1',
    './usr/share/bash-completion/completions/hookmcp', './usr/share/zsh/site-functions/_hookmcp',
    './usr/lib/systemd/system/hookmcp.service', './usr/share/doc/hookmcp/examples/config/production.json']) {
    assert.ok(listed.includes(path), `${path} is not in the .deb:\n${listed.join('\n')}`);
  }
  assert.deepEqual(listed.filter((p) => /_test|conformance|gtest|bench/.test(p)), []);
  assert.deepEqual(listed.filter((p) => !p.startsWith('./usr/')), []);
});

test('the packaged hookmcp is stripped and runs; the unit starts /usr/bin/hookmcp', () => {
  const root = dir.file('root');
  run('dpkg-deb', ['-x', deb, root]);
  const binary = join(root, 'usr/bin/hookmcp');
  assert.doesNotMatch(run('readelf', ['-S', '--wide', binary]), /\.debug_|\.symtab/);
  assert.equal(run(binary, ['--version']).trim(), `hookmcp ${version}`);
  const unit = readFileSync(join(root, 'usr/lib/systemd/system/hookmcp.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/hookmcp serve /m);
  assert.match(unit, /^User=hookmcp$/m);
});

test('the postinst creates the hookmcp system user the unit runs as', () => {
  const control = dir.file('control');
  run('dpkg-deb', ['-e', deb, control]);
  const postinst = join(control, 'postinst');
  assert.equal(statSync(postinst).mode & 0o777, 0o755);
  run('sh', ['-n', postinst]);
  const text = readFileSync(postinst, 'utf8');
  assert.match(text, /useradd --system --user-group --home-dir \/var\/lib\/hookmcp .* hookmcp$/ms);
});
