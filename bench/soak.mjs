// Memory soak: `hookmcp serve` (durability full, one GitHub source with a secret, retention
// capped at 100,000 events so that the database stays bounded as in a real deployment) with
// SESSIONS Streamable HTTP MCP sessions listening for live events (as in bench/sessions.mjs),
// under GitHub-signed ~2 KB deliveries at RATE per second for MINUTES.
//
// Prints the server's idle RSS (VmRSS 2 s after start, sessions open, before any load), a
// VmRSS sample every 10 s of load (with the events stored so far and the database's size), the
// peak (VmHWM), the RSS at 1 minute and at the end, the growth between the two (MB and %),
// the deliveries sent / acknowledged (2xx) / stored (/metrics), and the notifications the
// sessions received against those expected. Exits 1 when any notification was dropped.
//
// Usage: node bench/soak.mjs [MINUTES=10] [RATE=2000]
// (run from the repository root after scripts/build.sh; it uses build/hookmcp, or
// HOOKMCP_BINARY). SESSIONS=10, CONNECTIONS=32 (POSTing keep-alive connections) and
// MAX_EVENTS=100000 (retention.max_events) change the setup.
import { cpus, loadavg, totalmem } from 'node:os';
import { statSync } from 'node:fs';
import { binary, githubConfig, percentile, postAtRate, sleep, startServe } from './lib/serve.mjs';
import { openListeners } from './lib/listeners.mjs';

const minutes = Number(process.argv[2] ?? 10);
const rate = Number(process.argv[3] ?? 2000);
const sessions = Number(process.env.SESSIONS ?? 10);
const connections = Number(process.env.CONNECTIONS ?? 32);
const maxEvents = Number(process.env.MAX_EVENTS ?? 100000);
const total = Math.round(rate * minutes * 60);
const secret = 'bench-secret';
const sampleEveryMs = 10000;

const mb = (kb) => kb / 1024;
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

console.log(`machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg()[0].toFixed(2)}; binary ${binary} (built ${statSync(binary).mtime.toISOString()})`);
console.log(`load: ${rate}/s GitHub-signed ~2 KB deliveries for ${minutes} min (${total}), ${connections} keep-alive connections, ` +
            `${sessions} listening sessions, durability full, retention.max_events ${maxEvents}`);

const started = performance.now();
const server = await startServe(githubConfig(secret, { retention: { max_events: maxEvents } }));
let exitCode = 0;
try {
  const listeners = await openListeners({ port: server.port, sessions, maxId: total });
  await sleep(Math.max(0, 2000 - (performance.now() - started)));
  const idleKb = server.procKb('VmRSS');
  console.log(`idle: VmRSS ${fmt(mb(idleKb))} MB with ${listeners.connected}/${sessions} sessions open`);

  // Samples every 10 s from the start of the load, and one at its end.
  let stored = 0;
  const samples = [];
  let loadStart = performance.now();
  const sample = () => {
    const s = { t: (performance.now() - loadStart) / 1000, rssKb: server.procKb('VmRSS'), stored, dbBytes: server.dbBytes() };
    samples.push(s);
    console.log(`t=${fmt(s.t, 0).padStart(4)} s  VmRSS ${fmt(mb(s.rssKb)).padStart(7)} MB  stored ${String(s.stored).padStart(8)}  ` +
                `database ${fmt(s.dbBytes / 2 ** 20)} MB`);
  };
  const timer = setInterval(sample, sampleEveryMs);
  const load = await postAtRate({ port: server.port, secret, rate, total, connections,
    onAck: (id, t0) => { stored++; listeners.recordSend(id, t0); } });
  clearInterval(timer);
  loadStart = load.start;
  sample();
  const end = samples.at(-1);

  await listeners.waitFor(listeners.connected * load.stored, 5000);
  const r = await listeners.finish();
  const metrics = await server.metrics();
  const peakKb = server.procKb('VmHWM');
  const expected = listeners.connected * load.stored;
  const received = r.perSession.reduce((s, x) => s + x, 0);

  // The first sample at or after 60 s of load (the end, for a run shorter than that).
  const minute1 = samples.find((s) => s.t >= 59.5) ?? end;
  const growthMb = mb(end.rssKb - minute1.rssKb);
  console.log();
  console.log(`sent=${load.sent} acknowledged=${load.acked} stored=${metrics.hookmcp_webhooks_stored_total} failed=${load.failed} ` +
              `statuses=${JSON.stringify(load.statuses)} rate=${fmt(load.rate, 0)}/s ` +
              `ack_p50=${fmt(load.ackP50, 2)}ms ack_p99=${fmt(load.ackP99, 2)}ms`);
  console.log(`notifications: sessions=${listeners.connected}/${sessions} expected=${expected} received=${received} ` +
              `dropped=${expected - received} duplicates=${r.duplicates} streams_ended=${r.streamsEnded} ` +
              `p50=${fmt(percentile(r.latencies, 50), 2)}ms p99=${fmt(percentile(r.latencies, 99), 2)}ms ` +
              `server_dropped=${metrics.hookmcp_notifications_dropped_total}`);
  const cpu = server.cpuSeconds();
  console.log(`server cpu_s=${fmt(cpu.total)} busiest_thread=${fmt(cpu.busiestThread)}; database at the end ${fmt(end.dbBytes / 2 ** 20)} MB`);
  const warnings = server.stderr().split('\n').filter((l) => /\b(warn|warning|error|critical)\b/i.test(l));
  if (warnings.length) console.log(`server log: ${warnings.length} warnings/errors, first: ${warnings.slice(0, 3).join(' | ')}`);
  console.log();
  console.log(`| measure (${rate}/s for ${minutes} min, ${sessions} sessions) | value |`);
  console.log('| --- | --- |');
  console.log(`| idle RSS MB (2 s after start) | ${fmt(mb(idleKb))} |`);
  console.log(`| RSS at 1 min MB (t=${fmt(minute1.t, 0)} s) | ${fmt(mb(minute1.rssKb))} |`);
  console.log(`| RSS at the end MB (t=${fmt(end.t, 0)} s) | ${fmt(mb(end.rssKb))} |`);
  console.log(`| peak RSS MB (VmHWM) | ${fmt(mb(peakKb))} |`);
  console.log(`| growth from 1 min to the end | ${fmt(growthMb)} MB (${fmt((100 * (end.rssKb - minute1.rssKb)) / minute1.rssKb)} %) |`);
  console.log(`| sent / acknowledged / stored | ${load.sent} / ${load.acked} / ${metrics.hookmcp_webhooks_stored_total} |`);
  console.log(`| achieved intake events/s | ${fmt(load.rate, 0)} |`);
  console.log(`| notifications received / expected | ${received} / ${expected} |`);
  if (received < expected || listeners.connected < sessions) exitCode = 1;
} finally {
  await server.stop();
}
process.exit(exitCode);
