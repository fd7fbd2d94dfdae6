// What checking an OAuth access token costs an MCP request: `hookmcp serve` with mcp.oauth
// (issuer: oauth2-mock-server, run here) answers MCP 2026-07-28 `tools/list` requests, sent by
// CONCURRENCY clients for SECONDS, with a static token (the reference: a constant-time compare)
// and with RS256, PS256 and ES256 JWTs from the issuer, one after the other in each run, so that
// the ratios are per run. Per mode: requests/s, latency p50/p99, and the server's CPU time per
// request.
//
// Usage: node bench/mcp_auth.mjs [SECONDS] [RUNS] [CONCURRENCY]
import http from 'node:http';
import { createServer } from 'node:net';

import { median, percentile, startServe } from './lib/serve.mjs';

const { OAuth2Server } = await import(
  new URL('../tests/node/node_modules/oauth2-mock-server/dist/index.mjs', import.meta.url));

const seconds = Number(process.argv[2] ?? 5);
const runs = Number(process.argv[3] ?? 3);
const concurrency = Number(process.argv[4] ?? 8);
const STATIC = 'static-bench-token-0123456789abcdef';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const issuer = new OAuth2Server();
const kids = {};
for (const alg of ['RS256', 'PS256', 'ES256']) kids[alg] = (await issuer.issuer.keys.generate(alg)).kid;
await issuer.start(0, '127.0.0.1');
const port = await freePort();
const audience = `http://127.0.0.1:${port}/mcp`;
const tokens = { static: STATIC };
for (const alg of Object.keys(kids)) {
  tokens[alg] = await issuer.issuer.buildToken({
    kid: kids[alg],
    expiresIn: 3600,
    scopesOrTransform: (_h, c) => Object.assign(c, { aud: audience, sub: `bench-${alg}`, scope: 'events:read events:write' }),
  });
}

const serve = await startServe({ mcp: { tokens: [STATIC], oauth: { issuer: issuer.issuer.url, audience } } },
  { listen: `127.0.0.1:${port}` });
const target = new URL(audience);

const body = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'tools/list',
  params: { _meta: {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
  } },
});

async function measure(token) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  let failed = 0;
  const end = performance.now() + seconds * 1000;
  const cpu0 = serve.cpuSeconds().total;
  async function client() {
    while (performance.now() < end) {
      const t0 = performance.now();
      const status = await new Promise((resolve) => {
        const req = http.request(target, { method: 'POST', agent, headers: {
          'Content-Type': 'application/json', Accept: 'application/json',
          'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/list',
          Authorization: `Bearer ${token}`, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', () => resolve(0));
        req.end(body);
      });
      if (status === 200) latencies.push(performance.now() - t0);
      else failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client));
  agent.destroy();
  const cpu = serve.cpuSeconds().total - cpu0;
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuUs: (cpu * 1e6) / Math.max(1, latencies.length),
    failed,
  };
}

const results = {};
for (let run = 1; run <= runs; run++) {
  for (const mode of Object.keys(tokens)) {
    const r = await measure(tokens[mode]);
    (results[mode] ??= []).push(r);
    const ratio = r.rate / results.static.at(-1).rate;
    console.log(`run ${run} ${mode.padEnd(6)} ${r.rate.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, ` +
      `p99 ${r.p99.toFixed(2)} ms, server CPU ${r.cpuUs.toFixed(0)} µs/request, ` +
      `${(ratio).toFixed(2)} of static${r.failed ? `, ${r.failed} FAILED` : ''}`);
  }
}
await serve.stop();
await issuer.stop();

console.log(`\n| token | req/s (median) | p50 ms | p99 ms | server CPU µs/request | ratio to static (median of runs) |`);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const mode of Object.keys(tokens)) {
  const rs = results[mode];
  const ratios = rs.map((r, i) => r.rate / results.static[i].rate);
  console.log(`| ${mode} | ${median(rs.map((r) => r.rate)).toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(2)} | ` +
    `${median(rs.map((r) => r.p99)).toFixed(2)} | ${median(rs.map((r) => r.cpuUs)).toFixed(0)} | ${median(ratios).toFixed(2)} |`);
}
