// Starts the real hookmcp binary for node:test files. Shared by every test under tests/node.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const binary = process.env.HOOKMCP_BINARY ?? new URL('../../../build/hookmcp', import.meta.url).pathname;

// A fresh directory, removed by cleanup().
export function tempDir() {
  const path = mkdtempSync(join(tmpdir(), 'hookmcp-node-'));
  return { path, file: (name) => join(path, name), cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

// Resolves with the port from the "listening on http://HOST:PORT" stderr line.
export function waitForPort(child, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no listening line within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const m = text.match(/listening on https?:\/\/\S*:(\d+)\s/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hookmcp exited with ${code} before listening:\n${text}`));
    });
  });
}

// `hookmcp serve` on 127.0.0.1:0 with a temporary database and, optionally, a config object.
export async function startServe({ config, args = [], env = {} } = {}) {
  const dir = tempDir();
  const argv = ['serve', '--listen', '127.0.0.1:0', '--db', dir.file('events.db'), ...args];
  if (config) {
    writeFileSync(dir.file('config.json'), JSON.stringify(config));
    argv.push('--config', dir.file('config.json'));
  }
  const child = spawn(binary, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const port = await waitForPort(child);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    child,
    stderr: () => stderr,
    async stop() {
      // Not yet exited (a crash sets signalCode, and its 'exit' has been emitted already).
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      dir.cleanup();
    },
  };
}

// A port free now, for a server whose address must be known before it starts.
export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// `hookmcp serve` on `port` (a free one when not given) with `config` written to `file` and
// public_url naming the server itself unless the config gives one: what connections register.
export async function servePublic({ config, file, db, port, env = {} }) {
  port ??= await freePort();
  writeFileSync(file, JSON.stringify({ public_url: `http://127.0.0.1:${port}`, ...config }));
  const child = spawn(binary, ['serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--config', file],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  await waitForPort(child);
  return {
    port, url: `http://127.0.0.1:${port}`, child, file, stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
