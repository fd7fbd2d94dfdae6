// The web console in a real browser: Debian's Chromium, driven headless by puppeteer-core,
// against a real `hookmcp serve`. The table fills; a webhook POSTed during the test appears
// within a second; search and filters narrow it; the detail shows the exact payload; a payload
// of HTML and script renders inert; ack changes the status; a foreign Host or Origin is refused;
// a token is asked for when the server needs one; and the page requests nothing outside the
// server. Runs on Node.js 22 (puppeteer-core needs it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import puppeteer from 'puppeteer-core';

import { startServe } from './lib/hookmcp.mjs';
import { postHook } from './lib/mcp.mjs';
import { sleep } from './lib/events.mjs';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let browser;
let server;
let outside;  // requests the page made to anywhere but the server

before(async () => {
  server = await startServe();
  for (let i = 0; i < 30; ++i) {
    const r = await postHook(server.port, i % 3 ? 'shop' : 'deploys', { type: i % 3 ? 'order.paid' : 'deploy', n: i, note: `filler ${i}` });
    assert.equal(r.status, 202);
  }
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openConsole(url) {
  const page = await browser.newPage();
  outside = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(url)) outside.push(req.url());
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const res = await page.goto(`${url}/ui`, { waitUntil: 'domcontentloaded' });
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
  return { page, errors };
}

const rowCount = (page) => page.$$eval('#rows tr', (rows) => rows.length);
const rowIds = (page) => page.$$eval('#rows tr', (rows) => rows.map((r) => Number(r.dataset.id)));

async function waitRows(page, predicate, timeout = 5000) {
  await page.waitForFunction(predicate, { timeout, polling: 20 });
}

test('the table fills, a new webhook appears live, search and filters narrow it, the detail shows the payload, ack changes the status', async () => {
  const { page, errors } = await openConsole(server.url);
  await waitRows(page, () => document.querySelectorAll('#rows tr').length >= 30);
  assert.equal(await rowCount(page), 30);
  await page.waitForFunction(() => document.getElementById('live').textContent === 'live', { timeout: 5000 });
  // Sources with their counts.
  const sources = await page.$$eval('#source-list button', (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(sources.sort(), ['deploys10/10', 'shop20/20']);

  // Live: a webhook POSTed now is a row within a second, without a reload.
  const sent = Date.now();
  const posted = await postHook(server.port, 'deploys', { type: 'deploy', needle: 'zebra-7731', service: 'api' });
  const appeared = await page.waitForSelector(`#rows tr[data-id="${posted.body.id}"]`, { timeout: 1000 }).catch(() => null);
  assert.ok(appeared, 'the new row is in the table');
  assert.ok(Date.now() - sent < 1500, `appeared ${Date.now() - sent} ms after the POST`);
  assert.equal((await rowIds(page))[0], posted.body.id, 'newest first');

  // Full-text search.
  await page.type('#search', 'zebra-7731');
  await waitRows(page, () => document.querySelectorAll('#rows tr').length === 1);
  assert.deepEqual(await rowIds(page), [posted.body.id]);
  await page.$eval('#search', (i) => { i.value = ''; i.dispatchEvent(new Event('input', { bubbles: true })); });
  await waitRows(page, () => document.querySelectorAll('#rows tr').length === 31);

  // Filters: a source, then a type.
  await page.select('#f-source', 'deploys');
  await waitRows(page, () => document.querySelectorAll('#rows tr').length === 11);
  await page.type('#f-type', 'order.paid');
  await waitRows(page, () => document.querySelectorAll('#rows tr').length === 0 && !document.getElementById('empty').hidden);
  await page.select('#f-source', '');
  await waitRows(page, () => document.querySelectorAll('#rows tr').length === 20);
  await page.$eval('#f-type', (i) => { i.value = ''; i.dispatchEvent(new Event('input', { bubbles: true })); });
  await waitRows(page, () => document.querySelectorAll('#rows tr').length === 31);

  // The detail, opened with the keyboard: the exact payload, pretty.
  await page.focus(`#rows tr[data-id="${posted.body.id}"]`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !document.getElementById('detail').hidden && document.getElementById('payload').textContent.includes('zebra'));
  const shown = await page.$eval('#payload', (p) => p.textContent);
  assert.deepEqual(JSON.parse(shown), { type: 'deploy', needle: 'zebra-7731', service: 'api' });
  assert.match(shown, /^\{\n {2}"/, 'pretty JSON');

  // Copy as curl and as hookmcp send name the source and carry the body.
  await page.click('#copy-curl');
  const curl = await page.$eval('#copied', (p) => p.textContent);
  assert.match(curl, new RegExp(`^curl -X POST '${server.url}/hooks/deploys'`));
  assert.match(curl, /zebra-7731/);
  await page.click('#copy-send');
  assert.match(await page.$eval('#copied', (p) => p.textContent), /hookmcp send --source 'deploys' --type 'deploy'/);

  // Ack: the status changes, in the detail and the table.
  await page.click('#ack');
  await page.waitForFunction((id) => document.querySelector(`#rows tr[data-id="${id}"] td:nth-child(6)`)?.textContent === 'acked', { timeout: 5000 }, posted.body.id);
  assert.equal(await page.$eval('#ack', (b) => b.disabled), true);

  // Esc closes it.
  await page.focus('#rows tr');
  await page.keyboard.press('Escape');
  assert.equal(await page.$eval('#detail', (d) => d.hidden), true);

  assert.deepEqual(outside, [], 'no request outside the server');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a payload of HTML and script renders as text, inert', async () => {
  const evil = { type: 'xss', html: '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b id="bold">bold</b>' };
  const posted = await postHook(server.port, 'shop', evil);
  const { page, errors } = await openConsole(server.url);
  await page.waitForSelector(`#rows tr[data-id="${posted.body.id}"]`);
  await page.click(`#rows tr[data-id="${posted.body.id}"]`);
  await page.waitForFunction(() => document.getElementById('payload').textContent.includes('<script>'));
  assert.equal(JSON.parse(await page.$eval('#payload', (p) => p.textContent)).html, evil.html);
  await sleep(300);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.$('#payload img'), null);
  assert.equal(await page.$('#bold'), null);
  assert.deepEqual(outside, [], 'the <img src=x> was never fetched');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a binary payload is shown as a hex view', async () => {
  const bytes = Buffer.from([0x00, 0x01, 0x02, 0xff, 0x41, 0x42, 0x43, 0x0a]);
  const res = await fetch(`${server.url}/hooks/files`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
  assert.equal(res.status, 202);
  const { id } = await res.json();
  const { page } = await openConsole(server.url);
  await page.waitForSelector(`#rows tr[data-id="${id}"]`);
  await page.click(`#rows tr[data-id="${id}"]`);
  await page.waitForFunction(() => document.getElementById('payload-kind').textContent.startsWith('binary'));
  assert.equal(await page.$eval('#payload', (p) => p.textContent), `00000000  00 01 02 ff 41 42 43 0a${' '.repeat(24)}  ....ABC.`);
  await page.close();
});

test('a foreign Host or Origin is refused, as on /mcp', async () => {
  // fetch() sends its own Host: ask with http.get to send another.
  const host = await new Promise((resolve, reject) => {
    http.get(`${server.url}/ui`, { headers: { Host: 'evil.example' } }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
  });
  assert.equal(host, 403);
  const origin = await fetch(`${server.url}/ui`, { headers: { Origin: 'https://evil.example' } });
  assert.equal(origin.status, 403);
  const mcp = await fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Origin: 'https://evil.example' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
  });
  assert.equal(mcp.status, 403);
  // From a page of another origin, the browser's own request carries that Origin and is refused.
  const page = await browser.newPage();
  await page.goto('about:blank');
  const status = await page.evaluate(async (url) => {
    try { return (await fetch(`${url}/mcp`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status; } catch (e) { return `refused: ${e.message}`; }
  }, server.url);
  assert.notEqual(status, 200);
  await page.close();
});

test('with mcp.tokens, the console asks for the token once and keeps it in the tab; trigger runs are listed and replayed', async () => {
  const guarded = await startServe({ config: { mcp: { tokens: ['console-token-123'] },
    triggers: { fails: { match: { source: 'ops' }, run: { argv: ['false'], max_attempts: 1 } } } } });
  try {
    const posted = await postHook(guarded.port, 'ops', { type: 'page', who: 'on-call' });
    const { page, errors } = await openConsole(guarded.url);
    await page.waitForSelector('#token-form:not([hidden])');
    await page.type('#token', 'console-token-123');
    await page.click('#token-form button');
    await waitRows(page, () => document.querySelectorAll('#rows tr').length === 1);
    // Kept for the tab: a reload needs no token.
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitRows(page, () => document.querySelectorAll('#rows tr').length === 1);
    assert.equal(await page.$eval('#token-form', (f) => f.hidden), true);
    // The trigger's dead run is listed with its state; replaying it from the detail runs it again.
    await page.waitForFunction(() => /fails on event \d+: dead/.test(document.getElementById('runs').textContent), { timeout: 5000 });
    assert.equal(await page.$eval('#runs li', (li) => li.className), 'state-dead');
    await page.click(`#rows tr[data-id="${posted.body.id}"]`);
    await page.waitForSelector('#replay-box:not([hidden])');
    await page.click('#replay');
    await page.waitForFunction(() => /replayed to fails: dead, status 1, exit_1/.test(document.getElementById('copied').textContent), { timeout: 5000 });
    assert.deepEqual(outside, []);
    assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
    await page.close();
  } finally {
    await guarded.stop();
  }
});

test('a narrow window stacks the panes and keeps the table usable', async () => {
  const { page } = await openConsole(server.url);
  await page.setViewport({ width: 420, height: 800 });
  await waitRows(page, () => document.querySelectorAll('#rows tr').length > 0);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 440, `no sideways scrolling of the page (${width}px)`);
  await page.close();
});
