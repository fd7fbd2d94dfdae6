// The MCP Inspector's CLI lists hookmcp's tools over stdio.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binary, tempDir } from './lib/hookmcp.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

test('npx @modelcontextprotocol/inspector --cli hookmcp stdio --method tools/list', async () => {
  const dir = tempDir();
  try {
    const { stdout } = await run('npx', ['--no-install', '@modelcontextprotocol/inspector', '--cli', binary, 'stdio', '--method', 'tools/list'], {
      cwd: here,
      env: { ...process.env, HOOKMCP_DB: dir.file('events.db'), HOOKMCP_LISTEN: '127.0.0.1:0' },
      timeout: 120000,
    });
    const { tools } = JSON.parse(stdout);
    assert.deepEqual(tools.map((t) => t.name).sort(), ['ack_events', 'get_event', 'list_events', 'list_sources', 'search_events', 'wait_for_event']);
    for (const t of tools) assert.ok(t.inputSchema && t.outputSchema, t.name);
  } finally {
    dir.cleanup();
  }
});
