// Many live MCP sessions at once: SESSIONS concurrent Streamable HTTP sessions on /mcp of
// `hookmcp serve` (durability full, one GitHub source with a secret), each initialized and
// holding its GET /mcp stream, as bench/notify_latency.mjs's client does, while GitHub-signed
// ~2 KB deliveries are POSTed at RATE per second for SECONDS from 16 keep-alive connections.
// Counts, per session, the distinct event ids received in notifications/claude/channel, and
// their latency from the moment the POST was sent. Each run also drives a server with no
// session at the same rate, the reference for the intake rate.
//
// Prints per run: sessions connected, events sent and acknowledged (2xx), the achieved intake
// rate and its ratio to the reference, notifications expected (sessions x stored events),
// received, dropped (missing), duplicates, latency p50/p99 from POST send to receipt over all
// sessions, the server's peak RSS (VmHWM), and the CPU seconds of the server (and of its busiest
// thread) and of this script; then a Markdown table of medians over the runs.
// Exits 1 when any notification was dropped or any session could not be opened.
//
// Usage: node bench/sessions.mjs [SESSIONS=1000] [RATE=1000] [SECONDS=10] [RUNS=3]
// (run from the repository root after scripts/build.sh; it uses build/hookmcp, or
// HOOKMCP_BINARY). CONNECTIONS=16 sets the POSTing connections; RECEIVERS=1 the worker threads
// that hold the sessions' streams.
import { cpus, loadavg, totalmem } from 'node:os';
import { statSync } from 'node:fs';
import { binary, githubConfig, median, percentile, postAtRate, sleep, startServe } from './lib/serve.mjs';
import { openListeners } from './lib/listeners.mjs';

const sessions = Number(process.argv[2] ?? 1000);
const rate = Number(process.argv[3] ?? 1000);
const seconds = Number(process.argv[4] ?? 10);
const runs = Number(process.argv[5] ?? 3);
const connections = Number(process.env.CONNECTIONS ?? 16);
const total = Math.round(rate * seconds);
const secret = 'bench-secret';
// No retention limit, so that every event of the run stays; the session limit (10,000 by
// default, not configurable) is above any SESSIONS this is meant for.
const config = githubConfig(secret, { retention: { max_age_days: 0, max_events: 0 } });

// One phase: a fresh server, `n` listening sessions, the load, then the counts.
async function phase(n) {
  const server = await startServe(config);
  try {
    const listeners = n > 0 ? await openListeners({ port: server.port, sessions: n, maxId: total }) : null;
    const rssIdleKb = server.procKb('VmRSS');
    const cpu0 = process.cpuUsage();
    const load = await postAtRate({ port: server.port, secret, rate, total, connections,
                                    onAck: listeners ? listeners.recordSend : undefined });
    const out = { sessions: n, connected: listeners?.connected ?? 0, failures: listeners?.failures ?? [],
                  load, rssIdleKb };
    if (listeners) {
      // Stragglers: up to 5 s after the last answer for everything to arrive.
      await listeners.waitFor(listeners.connected * load.stored, 5000);
      const r = await listeners.finish();
      out.expected = listeners.connected * load.stored;
      out.received = r.perSession.reduce((s, x) => s + x, 0);
      out.dropped = out.expected - out.received;
      out.duplicates = r.duplicates;
      out.complete = r.perSession.filter((x) => x === load.stored).length;
      out.minPerSession = Math.min(...r.perSession);
      out.streamsEnded = r.streamsEnded;
      out.streamErrors = r.streamErrors;
      out.outOfRange = r.outOfRange;
      out.p50 = percentile(r.latencies, 50);
      out.p99 = percentile(r.latencies, 99);
      out.max = r.latencies.at(-1);
    }
    const cpu = process.cpuUsage(cpu0);
    out.benchCpu = (cpu.user + cpu.system) / 1e6;
    out.serverCpu = server.cpuSeconds();
    out.elapsed = (performance.now() - load.start) / 1000;
    out.peakRssKb = server.procKb('VmHWM');
    out.metrics = await server.metrics();
    const warnings = server.stderr().split('\n').filter((l) => /\b(warn|warning|error|critical)\b/i.test(l));
    out.warnings = warnings.length;
    out.warningSample = warnings.slice(0, 3);
    return out;
  } finally {
    await server.stop();
  }
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (kb) => (kb / 1024).toFixed(0);

console.log(`machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg()[0].toFixed(2)}; binary ${binary} (built ${statSync(binary).mtime.toISOString()})`);
console.log(`load: ${sessions} sessions, ${rate}/s GitHub-signed ~2 KB deliveries for ${seconds} s (${total} per run), ` +
            `${connections} keep-alive connections, durability full, ${runs} runs`);
const rows = [];
let failed = false;
for (let run = 1; run <= runs; run++) {
  const ref = await phase(0);
  console.log(`run ${run} reference: sessions=0 sent=${ref.load.sent} acked=${ref.load.acked} rate=${fmt(ref.load.rate, 0)}/s ` +
              `ack_p50=${fmt(ref.load.ackP50)}ms ack_p99=${fmt(ref.load.ackP99)}ms peak_rss_mb=${mb(ref.peakRssKb)} ` +
              `statuses=${JSON.stringify(ref.load.statuses)} failed=${ref.load.failed} ` +
              `cpu_s: server=${fmt(ref.serverCpu.total)} busiest_thread=${fmt(ref.serverCpu.busiestThread)} bench=${fmt(ref.benchCpu)} in ${fmt(ref.elapsed, 1)} s`);
  await sleep(1000);
  const res = await phase(sessions);
  const ratio = res.load.rate / ref.load.rate;
  console.log(`run ${run} sessions: sessions=${res.connected}/${sessions} sent=${res.load.sent} acked=${res.load.acked} ` +
              `rate=${fmt(res.load.rate, 0)}/s ratio=${fmt(ratio)} ack_p50=${fmt(res.load.ackP50)}ms ack_p99=${fmt(res.load.ackP99)}ms ` +
              `expected=${res.expected} received=${res.received} dropped=${res.dropped} duplicates=${res.duplicates} ` +
              `complete_sessions=${res.complete}/${res.connected} min_per_session=${res.minPerSession} ` +
              `p50=${fmt(res.p50)}ms p99=${fmt(res.p99)}ms max=${fmt(res.max)}ms ` +
              `idle_rss_mb=${mb(res.rssIdleKb)} peak_rss_mb=${mb(res.peakRssKb)} ` +
              `statuses=${JSON.stringify(res.load.statuses)} failed=${res.load.failed}`);
  console.log(`run ${run} server: mcp_sessions=${res.metrics.hookmcp_mcp_sessions} ` +
              `notifications_sent=${res.metrics.hookmcp_notifications_sent_total} ` +
              `notifications_dropped=${res.metrics.hookmcp_notifications_dropped_total} ` +
              `streams_ended=${res.streamsEnded} log_warnings=${res.warnings} ` +
              `cpu_s: server=${fmt(res.serverCpu.total)} busiest_thread=${fmt(res.serverCpu.busiestThread)} bench=${fmt(res.benchCpu)} in ${fmt(res.elapsed, 1)} s` +
              (res.streamErrors.length ? ` stream_errors=${JSON.stringify(res.streamErrors)}` : '') +
              (res.outOfRange ? ` unexpected_ids=${res.outOfRange}` : ''));
  for (const w of res.warningSample) console.log(`  server log: ${w}`);
  if (res.failures.length) {
    const distinct = [...new Set(res.failures)];
    console.log(`  ${res.failures.length} sessions not opened: ${distinct.slice(0, 3).join(' | ')}`);
  }
  if (res.dropped > 0 || res.connected < sessions) failed = true;
  rows.push({ ref, res, ratio });
  if (run < runs) await sleep(1000);
}

const col = (f) => rows.map(f);
const range = (xs, d = 0) => `${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)}`;
console.log();
console.log(`| measure (${sessions} sessions, ${rate}/s for ${seconds} s) | median of ${runs} | min-max |`);
console.log('| --- | --- | --- |');
console.log(`| sessions connected | ${median(col((r) => r.res.connected))} | ${range(col((r) => r.res.connected))} |`);
console.log(`| intake events/s, no session (reference) | ${fmt(median(col((r) => r.ref.load.rate)), 0)} | ${range(col((r) => r.ref.load.rate))} |`);
console.log(`| intake events/s, with the sessions | ${fmt(median(col((r) => r.res.load.rate)), 0)} | ${range(col((r) => r.res.load.rate))} |`);
console.log(`| ratio with / without | ${fmt(median(col((r) => r.ratio)))} | ${range(col((r) => r.ratio), 2)} |`);
console.log(`| intake latency p50 / p99 ms, no session | ${fmt(median(col((r) => r.ref.load.ackP50)))} / ${fmt(median(col((r) => r.ref.load.ackP99)))} | |`);
console.log(`| intake latency p50 / p99 ms, with the sessions | ${fmt(median(col((r) => r.res.load.ackP50)))} / ${fmt(median(col((r) => r.res.load.ackP99)))} | |`);
console.log(`| notifications received / expected | ${median(col((r) => r.res.received))} / ${median(col((r) => r.res.expected))} | |`);
console.log(`| dropped (missing) | ${median(col((r) => r.res.dropped))} | ${range(col((r) => r.res.dropped))} |`);
console.log(`| duplicates | ${median(col((r) => r.res.duplicates))} | ${range(col((r) => r.res.duplicates))} |`);
console.log(`| POST to notification p50 ms | ${fmt(median(col((r) => r.res.p50)))} | ${range(col((r) => r.res.p50), 2)} |`);
console.log(`| POST to notification p99 ms | ${fmt(median(col((r) => r.res.p99)))} | ${range(col((r) => r.res.p99), 2)} |`);
console.log(`| server RSS with the sessions idle MB | ${mb(median(col((r) => r.res.rssIdleKb)))} | |`);
console.log(`| server peak RSS MB, with / without the sessions | ${mb(median(col((r) => r.res.peakRssKb)))} / ${mb(median(col((r) => r.ref.peakRssKb)))} | |`);
process.exit(failed ? 1 : 0);
