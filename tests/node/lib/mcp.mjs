// Starts `hookmcp stdio` under the official MCP SDK client, for node:test files.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { binary, tempDir } from './hookmcp.mjs';

// Resolves with the port from the "listening on http://HOST:PORT" line of a stderr stream.
function portFrom(stream, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no listening line within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    stream.on('data', (chunk) => {
      text += chunk;
      const m = text.match(/listening on https?:\/\/\S*:(\d+)\s/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
}

// A queue of notifications that tests wait on by predicate, with a deadline.
export class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }
  push(n) {
    this.items.push(n);
    for (const w of [...this.waiters]) w();
  }
  // The first notification (seen already, or arriving before the deadline) matching `pred`.
  next(pred, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.items.findIndex(pred);
        if (i < 0) return false;
        const [n] = this.items.splice(i, 1);
        cleanup();
        resolve(n);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching notification within ${timeoutMs} ms; seen: ${JSON.stringify(this.items.map((n) => n.method))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      if (!check()) this.waiters.push(check);
    });
  }
}

// `hookmcp stdio` with a temporary database (or `db`), connected through the SDK client.
// Every notification the client receives lands in `inbox`.
export async function startStdio({ listen = '127.0.0.1:0', db, expectPort = true, env = {} } = {}) {
  const dir = tempDir();
  const dbPath = db ?? dir.file('events.db');
  const transport = new StdioClientTransport({
    command: binary,
    args: ['stdio', '--listen', listen, '--db', dbPath],
    env: { ...process.env, ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr.on('data', (c) => { stderr += c; });
  const port = expectPort ? portFrom(transport.stderr) : null;
  const client = new Client({ name: 'hookmcp-node-test', version: '1.0.0' }, { capabilities: {} });
  const inbox = new Inbox();
  client.fallbackNotificationHandler = async (n) => inbox.push(n);
  await client.connect(transport);
  return {
    client,
    transport,
    inbox,
    db: dbPath,
    port: port ? await port : null,
    stderr: () => stderr,
    async close() {
      await client.close();
      dir.cleanup();
    },
  };
}

// Posts a webhook to /hooks/{source}; resolves with the parsed answer.
export async function postHook(port, source, body, headers = {}) {
  const res = await fetch(`http://127.0.0.1:${port}/hooks/${source}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
