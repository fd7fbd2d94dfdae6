// Triggers' `forward` action, measured on the real binary: `hookmcp serve` (durability full, a
// fresh database, one GitHub source with a secret) whose triggers POST each new stored event on
// to a node:http receiver on loopback, from the outbound module's durable queue (one request in
// flight per trigger, in order). GitHub-signed ~2 KB deliveries are POSTed at RATE per second,
// paced by the clock, over keep-alive connections (lib/serve.mjs's postAtRate). Two measures:
//   latency  one forward trigger on the source: for each event, from the moment its POST was
//            sent to the moment the forwarded request reached the receiver (intake, fsync,
//            commit, the trigger's read by cursor and the POST are all inside), matched by
//            X-Hookmcp-Event-Id against the id of the 202 answer; p50/p99 per run, events
//            forwarded against those stored, whether every one came, in order, once, with the
//            provider's signature still valid, and the server's peak RSS.
//   fanout   TRIGGERS forward triggers on the source (one receiver, a path per trigger): the
//            intake's achieved rate and latency against the same server, rows and offered load
//            with no trigger, measured in the same run just before (the ratio is per run); the
//            forwards made by the end of the load, of those owed, and how long until the rest
//            came (up to DRAIN_S seconds); the server's peak RSS and CPU.
//   max      the same servers as fanout (none, then TRIGGERS forward triggers), but intake as
//            fast as it goes instead of a fixed rate, so that the ratio can fall below 1: wrk
//            (bench/triggers_max.lua, which is bench/intake.lua's load: the same ~2 KB body,
//            signed once, a delivery id per request) from CONNECTIONS keep-alive connections,
//            each sending its next POST as soon as the previous answer came, for SECONDS;
//            202 answers per second, wrk's p50/p99; the ratio with / without per run; the
//            forwards made by the end of the load, of those owed (the events the server
//            stored, by its metrics, times TRIGGERS), and how long after it the last one came.
//            wrk, not node: node's own client reaches about a third of what wrk does against
//            the server with no trigger, and would be the bound.
//
// Each run prints its figures; then a Markdown table of medians over the runs. Exits 1 when a
// forward is missing once the wait is over, or came out of order, twice, or altered.
//
// Usage: node bench/triggers.mjs latency [RATE=1000] [SECONDS=10] [RUNS=3]
//        node bench/triggers.mjs fanout [TRIGGERS=10] [RATE=1000] [SECONDS=10] [RUNS=3]
//        node bench/triggers.mjs max [TRIGGERS=10] [SECONDS=10] [RUNS=3] [CONNECTIONS=64]
// (run from the repository root after scripts/build.sh; it uses build/hookmcp, or
// HOOKMCP_BINARY; max needs wrk). CONNECTIONS=16 sets the POSTing connections of latency and
// fanout; THREADS=2 wrk's threads in max; DRAIN_S the seconds to wait after the load for the
// forwards still owed (latency: 10, fanout: 60, max: 900).
import { cpus, loadavg, totalmem } from 'node:os';
import { statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { binary, githubConfig, median, percentile, postAtRate, sleep, startServe } from './lib/serve.mjs';

const mode = process.argv[2] ?? 'latency';
const arg = (i, d) => Number(process.argv[i] ?? d);
const connections = Number(process.env.CONNECTIONS ?? 16);
const secret = 'bench-secret';

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (kb) => (kb / 1024).toFixed(1);
const range = (xs, d = 0) => `${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)}`;

// The receiving app: answers 204 to every request, notes for each the time it was whole
// (performance.now(), the clock postAtRate's send times are on) by X-Hookmcp-Event-Id, and per
// path (one per trigger) whether the ids come in order and once. Checks the provider's signature
// on the forwarded body, as the app behind a forward would.
async function startReceiver() {
  const arrivals = new Map();  // event id -> time of its first forward (any path)
  const paths = new Map();     // path -> { count, last, seen, outOfOrder, duplicates }
  const totals = { requests: 0, noId: 0, badSignature: 0, lastAt: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now();
      res.writeHead(204).end();
      totals.requests++;
      totals.lastAt = now;
      const id = Number(req.headers['x-hookmcp-event-id']);
      if (!Number.isInteger(id) || id <= 0) { totals.noId++; return; }
      const body = Buffer.concat(chunks);
      const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
      if (got.length !== want.length || !timingSafeEqual(got, want)) totals.badSignature++;
      if (!arrivals.has(id)) arrivals.set(id, now);
      let p = paths.get(req.url);
      if (!p) paths.set(req.url, p = { count: 0, last: 0, seen: new Set(), outOfOrder: 0, duplicates: 0 });
      if (p.seen.has(id)) { p.duplicates++; return; }
      p.seen.add(id);
      p.count++;
      if (id < p.last) p.outOfOrder++;
      p.last = Math.max(p.last, id);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const sum = (f) => [...paths.values()].reduce((s, p) => s + f(p), 0);
  return {
    url: (path) => `http://127.0.0.1:${server.address().port}${path}`,
    arrivals,
    totals,
    paths,
    forwarded: () => sum((p) => p.count),  // distinct (path, event) pairs
    outOfOrder: () => sum((p) => p.outOfOrder),
    duplicates: () => sum((p) => p.duplicates),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

// hookmcp_trigger_runs_total summed over the triggers, by outcome (ok, failed, dead).
async function triggerRuns(server) {
  const text = await server.metricsText();
  const out = { ok: 0, failed: 0, dead: 0 };
  for (const m of text.matchAll(/^hookmcp_trigger_runs_total\{[^}]*outcome="(\w+)"\}\s+([0-9.e+-]+)$/gm)) {
    out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  }
  return out;
}

function logWarnings(server) {
  const warnings = server.stderr().split('\n').filter((l) => /\b(warn|warning|error|critical)\b/i.test(l));
  return { count: warnings.length, sample: warnings.slice(0, 3) };
}

// Waits until `done()` or `ms` have passed.
async function waitUntil(done, ms) {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await sleep(20);
  return done();
}

function header(what) {
  console.log(`machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg()[0].toFixed(2)}; binary ${binary} (built ${statSync(binary).mtime.toISOString()})`);
  console.log(what);
}

async function latency() {
  const rate = arg(3, 1000);
  const seconds = arg(4, 10);
  const runs = arg(5, 3);
  const drainMs = Number(process.env.DRAIN_S ?? 10) * 1000;
  const total = Math.round(rate * seconds);
  header(`load: ${rate}/s GitHub-signed ~2 KB deliveries for ${seconds} s (${total} per run), ${connections} keep-alive connections, ` +
         `durability full, one forward trigger on the source to a node:http receiver on loopback, ${runs} runs`);
  const rows = [];
  let failed = false;
  for (let run = 1; run <= runs; run++) {
    const receiver = await startReceiver();
    const server = await startServe(githubConfig(secret, { triggers: {
      t1: { match: { source: 'github' }, forward: { url: receiver.url('/in') } } } }));
    try {
      const sentAt = new Map();  // event id -> time its POST was sent
      const cpu0 = process.cpuUsage();
      const load = await postAtRate({ port: server.port, secret, rate, total, connections,
                                      onAck: (id, t0) => sentAt.set(id, t0) });
      const duringLoad = receiver.forwarded();
      const all = await waitUntil(() => receiver.forwarded() >= load.stored, drainMs);
      const took = [];
      let unmatched = 0;
      for (const [id, t0] of sentAt) {
        const t = receiver.arrivals.get(id);
        if (t === undefined) unmatched++;
        else took.push(t - t0);
      }
      const lat = Float64Array.from(took).sort();
      const benchCpu = process.cpuUsage(cpu0);
      const r = {
        load, duringLoad, all,
        forwarded: receiver.forwarded(),
        missing: unmatched,
        unexpected: [...receiver.arrivals.keys()].filter((id) => !sentAt.has(id)).length,
        outOfOrder: receiver.outOfOrder(),
        duplicates: receiver.duplicates(),
        badSignature: receiver.totals.badSignature,
        noId: receiver.totals.noId,
        drainMs: all ? Math.max(0, receiver.totals.lastAt - load.end) : NaN,
        p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1),
        peakRssKb: server.procKb('VmHWM'),
        serverCpu: server.cpuSeconds(),
        benchCpu: (benchCpu.user + benchCpu.system) / 1e6,
        elapsed: (performance.now() - load.start) / 1000,
        runs: await triggerRuns(server),
        warnings: logWarnings(server),
      };
      r.inOrder = r.outOfOrder === 0 && r.duplicates === 0;
      r.complete = r.missing === 0 && load.stored === load.sent;
      if (!r.complete || !r.inOrder || r.badSignature || r.noId || r.unexpected) failed = true;
      rows.push(r);
      console.log(`run ${run}: sent=${load.sent} acked=${load.acked} stored=${load.stored} rate=${fmt(load.rate, 0)}/s ` +
                  `ack_p50=${fmt(load.ackP50)}ms ack_p99=${fmt(load.ackP99)}ms statuses=${JSON.stringify(load.statuses)} failed=${load.failed}; ` +
                  `forwarded=${r.forwarded} of ${load.stored} (${duringLoad} by the last answer` +
                  `${!all ? `, ${r.missing} missing after ${drainMs / 1000} s` : r.drainMs > 0 ? `, the last ${fmt(r.drainMs, 0)} ms after it` : ''}) ` +
                  `in_order=${r.inOrder} out_of_order=${r.outOfOrder} duplicates=${r.duplicates} bad_signature=${r.badSignature} unexpected=${r.unexpected}; ` +
                  `POST to forward p50=${fmt(r.p50)}ms p99=${fmt(r.p99)}ms max=${fmt(r.max)}ms; peak_rss_mb=${mb(r.peakRssKb)}; ` +
                  `trigger_runs ok=${r.runs.ok} failed=${r.runs.failed} dead=${r.runs.dead}; log_warnings=${r.warnings.count}; ` +
                  `cpu_s: server=${fmt(r.serverCpu.total)} busiest_thread=${fmt(r.serverCpu.busiestThread)} bench=${fmt(r.benchCpu)} in ${fmt(r.elapsed, 1)} s`);
      for (const w of r.warnings.sample) console.log(`  server log: ${w}`);
    } finally {
      await server.stop();
      await receiver.close();
    }
    if (run < runs) await sleep(1000);
  }

  const col = (f) => rows.map(f);
  console.log();
  console.log(`| measure (one forward trigger, ${rate}/s for ${seconds} s) | median of ${runs} | min-max |`);
  console.log('| --- | --- | --- |');
  console.log(`| forwarded / stored | ${median(col((r) => r.forwarded))} / ${median(col((r) => r.load.stored))} | ${range(col((r) => r.forwarded))} |`);
  console.log(`| runs with every event forwarded, in order, once | ${rows.filter((r) => r.complete && r.inOrder).length} of ${runs} | |`);
  console.log(`| POST to forward at the receiver p50 ms | ${fmt(median(col((r) => r.p50)))} | ${range(col((r) => r.p50), 2)} |`);
  console.log(`| POST to forward at the receiver p99 ms | ${fmt(median(col((r) => r.p99)))} | ${range(col((r) => r.p99), 2)} |`);
  console.log(`| intake latency p50 / p99 ms | ${fmt(median(col((r) => r.load.ackP50)))} / ${fmt(median(col((r) => r.load.ackP99)))} | |`);
  console.log(`| server peak RSS MB | ${mb(median(col((r) => r.peakRssKb)))} | ${mb(Math.min(...col((r) => r.peakRssKb)))}-${mb(Math.max(...col((r) => r.peakRssKb)))} |`);
  console.log(`| server CPU s over the run (start, load, forwards) | ${fmt(median(col((r) => r.serverCpu.total)))} | ${range(col((r) => r.serverCpu.total), 2)} |`);
  process.exitCode = failed ? 1 : 0;
}

async function fanout() {
  const triggers = arg(3, 10);
  const rate = arg(4, 1000);
  const seconds = arg(5, 10);
  const runs = arg(6, 3);
  const drainMs = Number(process.env.DRAIN_S ?? 60) * 1000;
  const total = Math.round(rate * seconds);
  header(`load: ${rate}/s GitHub-signed ~2 KB deliveries for ${seconds} s (${total} per run), ${connections} keep-alive connections, ` +
         `durability full; ${triggers} forward triggers on the source against none, ${runs} runs`);
  const rows = [];
  let failed = false;
  for (let run = 1; run <= runs; run++) {
    // The reference: the same server, rows and offered load, no trigger.
    const bare = await startServe(githubConfig(secret));
    let ref;
    try {
      const cpu0 = process.cpuUsage();
      const load = await postAtRate({ port: bare.port, secret, rate, total, connections });
      const benchCpu = process.cpuUsage(cpu0);
      ref = { load, peakRssKb: bare.procKb('VmHWM'), serverCpu: bare.cpuSeconds(),
              benchCpu: (benchCpu.user + benchCpu.system) / 1e6 };
    } finally {
      await bare.stop();
    }
    console.log(`run ${run} reference: triggers=0 sent=${ref.load.sent} acked=${ref.load.acked} rate=${fmt(ref.load.rate, 0)}/s ` +
                `ack_p50=${fmt(ref.load.ackP50)}ms ack_p99=${fmt(ref.load.ackP99)}ms peak_rss_mb=${mb(ref.peakRssKb)} ` +
                `statuses=${JSON.stringify(ref.load.statuses)} failed=${ref.load.failed} ` +
                `cpu_s: server=${fmt(ref.serverCpu.total)} bench=${fmt(ref.benchCpu)}`);
    await sleep(1000);

    const receiver = await startReceiver();
    const config = {};
    for (let i = 0; i < triggers; i++) {
      config[`t${i}`] = { match: { source: 'github' }, forward: { url: receiver.url(`/t/${i}`) } };
    }
    const server = await startServe(githubConfig(secret, { triggers: config }));
    try {
      const cpu0 = process.cpuUsage();
      const load = await postAtRate({ port: server.port, secret, rate, total, connections });
      const benchCpu = process.cpuUsage(cpu0);
      const duringLoad = receiver.forwarded();
      const serverCpuLoad = server.cpuSeconds();
      const owed = load.stored * triggers;
      const all = await waitUntil(() => receiver.forwarded() >= owed, drainMs);
      const r = {
        ref, load, owed, duringLoad, all,
        ratio: load.rate / ref.load.rate,
        forwarded: receiver.forwarded(),
        outOfOrder: receiver.outOfOrder(),
        duplicates: receiver.duplicates(),
        badSignature: receiver.totals.badSignature,
        noId: receiver.totals.noId,
        // Per trigger: the fewest events it forwarded.
        minPerTrigger: receiver.paths.size === triggers ? Math.min(...[...receiver.paths.values()].map((p) => p.count)) : 0,
        drainS: all ? Math.max(0, receiver.totals.lastAt - load.end) / 1000 : NaN,
        peakRssKb: server.procKb('VmHWM'),
        serverCpuLoad,
        serverCpu: server.cpuSeconds(),
        benchCpu: (benchCpu.user + benchCpu.system) / 1e6,
        runs: await triggerRuns(server),
        warnings: logWarnings(server),
      };
      r.inOrder = r.outOfOrder === 0 && r.duplicates === 0;
      if (!all || !r.inOrder || r.badSignature || r.noId) failed = true;
      rows.push(r);
      console.log(`run ${run} triggers: triggers=${triggers} sent=${load.sent} acked=${load.acked} rate=${fmt(load.rate, 0)}/s ratio=${fmt(r.ratio, 3)} ` +
                  `ack_p50=${fmt(load.ackP50)}ms ack_p99=${fmt(load.ackP99)}ms statuses=${JSON.stringify(load.statuses)} failed=${load.failed}; ` +
                  `forwards: ${duringLoad} of ${owed} by the last answer (${fmt(duringLoad / ((load.end - load.start) / 1000), 0)}/s), ` +
                  `${r.forwarded} of ${owed} ${all ? `${fmt(r.drainS, 1)} s after it` : `after waiting ${drainMs / 1000} s`}, ` +
                  `min_per_trigger=${r.minPerTrigger} in_order=${r.inOrder} out_of_order=${r.outOfOrder} duplicates=${r.duplicates} bad_signature=${r.badSignature}; ` +
                  `peak_rss_mb=${mb(r.peakRssKb)}; trigger_runs ok=${r.runs.ok} failed=${r.runs.failed} dead=${r.runs.dead}; log_warnings=${r.warnings.count}; ` +
                  `cpu_s: server=${fmt(r.serverCpuLoad.total)} in the load (${fmt(r.serverCpu.total)} with the drain) busiest_thread=${fmt(r.serverCpu.busiestThread)} bench=${fmt(r.benchCpu)}`);
      for (const w of r.warnings.sample) console.log(`  server log: ${w}`);
    } finally {
      await server.stop();
      await receiver.close();
    }
    if (run < runs) await sleep(1000);
  }

  const col = (f) => rows.map(f);
  console.log();
  console.log(`| measure (${triggers} forward triggers, ${rate}/s for ${seconds} s) | median of ${runs} | min-max |`);
  console.log('| --- | --- | --- |');
  console.log(`| intake events/s, no trigger (reference) | ${fmt(median(col((r) => r.ref.load.rate)), 1)} | ${range(col((r) => r.ref.load.rate), 1)} |`);
  console.log(`| intake events/s, with the triggers | ${fmt(median(col((r) => r.load.rate)), 1)} | ${range(col((r) => r.load.rate), 1)} |`);
  console.log(`| ratio with / without | ${fmt(median(col((r) => r.ratio)), 3)} | ${range(col((r) => r.ratio), 3)} |`);
  console.log(`| intake latency p50 / p99 ms, no trigger | ${fmt(median(col((r) => r.ref.load.ackP50)))} / ${fmt(median(col((r) => r.ref.load.ackP99)))} | p99 ${range(col((r) => r.ref.load.ackP99), 2)} |`);
  console.log(`| intake latency p50 / p99 ms, with the triggers | ${fmt(median(col((r) => r.load.ackP50)))} / ${fmt(median(col((r) => r.load.ackP99)))} | p99 ${range(col((r) => r.load.ackP99), 2)} |`);
  console.log(`| forwards by the end of the load / owed | ${median(col((r) => r.duringLoad))} / ${median(col((r) => r.owed))} | ${range(col((r) => r.duringLoad))} |`);
  console.log(`| forwards after the wait / owed; seconds after the load for the last | ${median(col((r) => r.forwarded))} / ${median(col((r) => r.owed))}; ${fmt(median(col((r) => r.drainS)), 1)} s | ${range(col((r) => r.drainS), 1)} s |`);
  console.log(`| runs with every forward in order, once | ${rows.filter((r) => r.inOrder).length} of ${runs} | |`);
  console.log(`| server peak RSS MB, with / without the triggers | ${mb(median(col((r) => r.peakRssKb)))} / ${mb(median(col((r) => r.ref.peakRssKb)))} | |`);
  console.log(`| server CPU s during the load, with / without the triggers | ${fmt(median(col((r) => r.serverCpuLoad.total)))} / ${fmt(median(col((r) => r.ref.serverCpu.total)))} | |`);
  process.exitCode = failed ? 1 : 0;
}

// max: wrk drives intake as fast as it goes (bench/triggers_max.lua). Resolves with wrk's
// RESULT fields (requests, accepted = 202 answers, duration_s, p50_ms, p99_ms, max_ms,
// errors), the 202s per second, and the times (performance.now()) wrk started and exited.
const wrkScript = new URL('./triggers_max.lua', import.meta.url).pathname;
const wrkThreads = Number(process.env.THREADS ?? 2);
const maxBody = (() => {  // bench/lib/wrk.sh's pad_body 2048: the body intake.sh sends
  const head = '{"ref":"refs/heads/main","action":"synchronize","repository":{"pad":"';
  const tail = '"}}';
  return head + 'x'.repeat(2048 - head.length - tail.length) + tail;
})();
function wrkLoad(port, seconds, conns) {
  const env = { ...process.env, HOOKMCP_BENCH_BODY: maxBody,
    HOOKMCP_BENCH_SIGNATURE: `sha256=${createHmac('sha256', secret).update(maxBody).digest('hex')}` };
  const start = performance.now();
  const child = spawn('wrk', [`-t${wrkThreads}`, `-c${conns}`, `-d${seconds}s`, '-s', wrkScript, `http://127.0.0.1:${port}/`],
                      { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { out += c; });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const end = performance.now();
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) { reject(new Error(`wrk exited with ${code}:\n${out}`)); return; }
      const r = { start, end };
      for (const m of line.matchAll(/(\w+)=([0-9.]+)/g)) r[m[1]] = Number(m[2]);
      r.rate = r.accepted / r.duration_s;
      resolve(r);
    });
  });
}

async function max() {
  const triggers = arg(3, 10);
  const seconds = arg(4, 10);
  const runs = arg(5, 3);
  const conns = arg(6, process.env.CONNECTIONS ?? 64);
  const drainMs = Number(process.env.DRAIN_S ?? 900) * 1000;
  header(`load: wrk -t${wrkThreads} -c${conns} -d${seconds}s, GitHub-signed ~2 KB deliveries back to back on each keep-alive connection ` +
         `(bench/intake.lua's load), durability full; ${triggers} forward triggers on the source against none, ${runs} runs`);
  const rows = [];
  let failed = false;
  for (let run = 1; run <= runs; run++) {
    // The reference: the same server and load, no trigger.
    const bare = await startServe(githubConfig(secret));
    let ref;
    try {
      const load = await wrkLoad(bare.port, seconds, conns);
      ref = { load, stored: (await bare.metrics()).hookmcp_webhooks_stored_total,
              peakRssKb: bare.procKb('VmHWM'), serverCpu: bare.cpuSeconds() };
    } finally {
      await bare.stop();
    }
    console.log(`run ${run} reference: triggers=0 requests=${ref.load.requests} accepted=${ref.load.accepted} stored=${ref.stored} ` +
                `rate=${fmt(ref.load.rate, 0)}/s p50=${fmt(ref.load.p50_ms)}ms p99=${fmt(ref.load.p99_ms)}ms max=${fmt(ref.load.max_ms)}ms ` +
                `errors=${ref.load.errors} peak_rss_mb=${mb(ref.peakRssKb)} cpu_s: server=${fmt(ref.serverCpu.total)}`);
    await sleep(1000);

    const receiver = await startReceiver();
    const config = {};
    for (let i = 0; i < triggers; i++) {
      config[`t${i}`] = { match: { source: 'github' }, forward: { url: receiver.url(`/t/${i}`) } };
    }
    const server = await startServe(githubConfig(secret, { triggers: config }));
    try {
      const cpu0 = process.cpuUsage();
      const load = await wrkLoad(server.port, seconds, conns);
      const duringLoad = receiver.forwarded();
      const serverCpuLoad = server.cpuSeconds();
      const receiverCpuLoad = process.cpuUsage(cpu0);
      // What is owed: every event the server stored (answers wrk cut off at its end included).
      await sleep(100);
      const stored = (await server.metrics()).hookmcp_webhooks_stored_total;
      const owed = stored * triggers;
      const all = await waitUntil(() => receiver.forwarded() >= owed, drainMs);
      const r = {
        ref, load, stored, owed, duringLoad, all,
        ratio: load.rate / ref.load.rate,
        forwarded: receiver.forwarded(),
        outOfOrder: receiver.outOfOrder(),
        duplicates: receiver.duplicates(),
        badSignature: receiver.totals.badSignature,
        noId: receiver.totals.noId,
        minPerTrigger: receiver.paths.size === triggers ? Math.min(...[...receiver.paths.values()].map((p) => p.count)) : 0,
        drainS: all ? Math.max(0, receiver.totals.lastAt - load.end) / 1000 : NaN,
        forwardRate: NaN,
        peakRssKb: server.procKb('VmHWM'),
        serverCpuLoad,
        serverCpu: server.cpuSeconds(),
        receiverCpuLoad: (receiverCpuLoad.user + receiverCpuLoad.system) / 1e6,
        runs: await triggerRuns(server),
        warnings: logWarnings(server),
      };
      // Forwards per second from the start of the load to the last one.
      if (all) r.forwardRate = r.forwarded / ((receiver.totals.lastAt - load.start) / 1000);
      r.inOrder = r.outOfOrder === 0 && r.duplicates === 0;
      if (!all || !r.inOrder || r.badSignature || r.noId) failed = true;
      rows.push(r);
      console.log(`run ${run} triggers: triggers=${triggers} requests=${load.requests} accepted=${load.accepted} stored=${stored} ` +
                  `rate=${fmt(load.rate, 0)}/s ratio=${fmt(r.ratio, 3)} p50=${fmt(load.p50_ms)}ms p99=${fmt(load.p99_ms)}ms max=${fmt(load.max_ms)}ms errors=${load.errors}; ` +
                  `forwards: ${duringLoad} of ${owed} by the end of the load (${fmt(duringLoad / ((load.end - load.start) / 1000), 0)}/s), ` +
                  `${r.forwarded} of ${owed} ${all ? `${fmt(r.drainS, 1)} s after it (${fmt(r.forwardRate, 0)}/s overall)` : `after waiting ${drainMs / 1000} s`}, ` +
                  `min_per_trigger=${r.minPerTrigger} in_order=${r.inOrder} out_of_order=${r.outOfOrder} duplicates=${r.duplicates} bad_signature=${r.badSignature}; ` +
                  `peak_rss_mb=${mb(r.peakRssKb)}; trigger_runs ok=${r.runs.ok} failed=${r.runs.failed} dead=${r.runs.dead}; log_warnings=${r.warnings.count}; ` +
                  `cpu_s: server=${fmt(r.serverCpuLoad.total)} in the load (${fmt(r.serverCpu.total)} with the drain) busiest_thread=${fmt(r.serverCpu.busiestThread)} ` +
                  `receiver=${fmt(r.receiverCpuLoad)} in the load`);
      for (const w of r.warnings.sample) console.log(`  server log: ${w}`);
    } finally {
      await server.stop();
      await receiver.close();
    }
    if (run < runs) await sleep(1000);
  }

  const col = (f) => rows.map(f);
  console.log();
  console.log(`| measure (${triggers} forward triggers, intake as fast as it goes, ${conns} connections for ${seconds} s) | median of ${runs} | min-max |`);
  console.log('| --- | --- | --- |');
  console.log(`| intake 202s/s, no trigger (reference) | ${fmt(median(col((r) => r.ref.load.rate)), 1)} | ${range(col((r) => r.ref.load.rate), 1)} |`);
  console.log(`| intake 202s/s, with the triggers | ${fmt(median(col((r) => r.load.rate)), 1)} | ${range(col((r) => r.load.rate), 1)} |`);
  console.log(`| ratio with / without (per run) | ${fmt(median(col((r) => r.ratio)), 3)} | ${range(col((r) => r.ratio), 3)} |`);
  console.log(`| intake latency p50 / p99 ms, no trigger | ${fmt(median(col((r) => r.ref.load.p50_ms)))} / ${fmt(median(col((r) => r.ref.load.p99_ms)))} | p99 ${range(col((r) => r.ref.load.p99_ms), 2)} |`);
  console.log(`| intake latency p50 / p99 ms, with the triggers | ${fmt(median(col((r) => r.load.p50_ms)))} / ${fmt(median(col((r) => r.load.p99_ms)))} | p99 ${range(col((r) => r.load.p99_ms), 2)} |`);
  console.log(`| forwards by the end of the load / owed | ${median(col((r) => r.duringLoad))} / ${median(col((r) => r.owed))} | ${range(col((r) => r.duringLoad))} |`);
  console.log(`| forwards after the wait / owed; seconds after the load for the last | ${median(col((r) => r.forwarded))} / ${median(col((r) => r.owed))}; ${fmt(median(col((r) => r.drainS)), 1)} s | ${range(col((r) => r.drainS), 1)} s |`);
  console.log(`| forwards/s, from the start of the load to the last | ${fmt(median(col((r) => r.forwardRate)), 0)} | ${range(col((r) => r.forwardRate), 0)} |`);
  console.log(`| runs with every forward in order, once | ${rows.filter((r) => r.inOrder).length} of ${runs} | |`);
  console.log(`| server peak RSS MB, with / without the triggers | ${mb(median(col((r) => r.peakRssKb)))} / ${mb(median(col((r) => r.ref.peakRssKb)))} | |`);
  console.log(`| server CPU s during the load, with / without the triggers | ${fmt(median(col((r) => r.serverCpuLoad.total)))} / ${fmt(median(col((r) => r.ref.serverCpu.total)))} | |`);
  process.exitCode = failed ? 1 : 0;
}

if (mode !== 'latency' && mode !== 'fanout' && mode !== 'max') {
  console.error('usage: node bench/triggers.mjs latency [RATE] [SECONDS] [RUNS] | fanout [TRIGGERS] [RATE] [SECONDS] [RUNS] | max [TRIGGERS] [SECONDS] [RUNS] [CONNECTIONS]');
  process.exit(2);
}
await { latency, fanout, max }[mode]();

