// MCP sessions that listen for live events, for the benchmarks: opens `sessions` Streamable HTTP
// sessions on a running `hookmcp serve`, spread over `workers` worker threads (so that the
// thread that paces the webhook POSTs is not slowed by the streams), and counts per session the
// distinct notifications/claude/channel event ids received and their latency from POST send.
//
//   const listeners = await openListeners({ port, sessions: 1000, maxId: 10000 });
//   ... postAtRate({ ..., onAck: listeners.recordSend }) ...
//   await listeners.waitFor(listeners.connected * stored, 5000);
//   const r = await listeners.finish();  // perSession, duplicates, latencies (sorted), ...
import { Worker } from 'node:worker_threads';
import { sleep } from './serve.mjs';

export async function openListeners({ port, sessions, maxId, workers = Number(process.env.RECEIVERS ?? 1),
                                      protocolVersion = '2025-11-25', setupConcurrency = 32 }) {
  const sentAt = new SharedArrayBuffer(8 * (maxId + 1));
  const sentAtMs = new Float64Array(sentAt);
  const counters = new SharedArrayBuffer(4 * 4);
  const shared = new Int32Array(counters);
  const count = Math.max(1, Math.min(workers, sessions));
  const threads = [];
  for (let w = 0; w < count; w++) {
    const share = Math.floor(sessions / count) + (w < sessions % count ? 1 : 0);
    const worker = new Worker(new URL('./listener_worker.mjs', import.meta.url), {
      workerData: { port, sessions: share, maxId, protocolVersion, sentAt, counters,
                    timeBase: performance.timeOrigin, setupConcurrency } });
    const messages = [];
    let wake = null;
    worker.on('message', (m) => { messages.push(m); wake?.(); });
    worker.on('error', (e) => { messages.push({ type: 'error', error: e }); wake?.(); });
    const nextMessage = async () => {
      while (messages.length === 0) await new Promise((r) => { wake = r; });
      wake = null;
      const m = messages.shift();
      if (m.type === 'error') throw m.error;
      return m;
    };
    threads.push({ worker, nextMessage });
  }
  const ready = await Promise.all(threads.map((t) => t.nextMessage()));
  const connected = ready.reduce((s, m) => s + m.connected, 0);
  const failures = ready.flatMap((m) => m.failures);

  return {
    connected,
    failures,
    // Called with each stored event's id and the performance.now() its POST was sent at.
    recordSend(id, t0) { if (id >= 1 && id <= maxId) sentAtMs[id] = t0; },
    received: () => Atomics.load(shared, 0),
    // Waits until `expected` distinct notifications have arrived, or `ms` have passed.
    async waitFor(expected, ms) {
      const deadline = performance.now() + ms;
      while (Atomics.load(shared, 0) < expected && performance.now() < deadline) await sleep(20);
      return Atomics.load(shared, 0);
    },
    // Stops listening and gathers the counts.
    async finish() {
      const results = await Promise.all(threads.map(async (t) => {
        t.worker.postMessage({ type: 'finish' });
        const r = await t.nextMessage();
        await t.worker.terminate();
        return r;
      }));
      let total = 0;
      for (const r of results) total += r.latencies.length;
      const latencies = new Float64Array(total);
      let at = 0;
      for (const r of results) { latencies.set(r.latencies, at); at += r.latencies.length; }
      latencies.sort();
      return {
        perSession: results.flatMap((r) => r.perSession),
        duplicates: results.reduce((s, r) => s + r.duplicates, 0),
        outOfRange: results.reduce((s, r) => s + r.outOfRange, 0),
        streamsEnded: results.reduce((s, r) => s + r.streamsEnded, 0),
        streamErrors: [...new Set(results.flatMap((r) => r.streamErrors))],
        unmatched: results.reduce((s, r) => s + r.unmatched, 0),
        latencies,
      };
    },
  };
}
