// The hookmcp console: an MCP client of the server that serves it. Events are read, searched,
// acknowledged and replayed with the MCP tools over /mcp (Streamable HTTP); new ones are heard
// of on the session's stream (notifications/resources/updated for hookmcp://events). Everything
// a sender wrote is put on the page as text (textContent), never as HTML.

const PAGE = 50;
const TOKEN_KEY = 'hookmcp-token';
const $ = (id) => document.getElementById(id);

// ---- MCP over Streamable HTTP ----

class Mcp {
  constructor() {
    this.session = null;
    this.nextId = 1;
    this.tools = new Set();
    this.onUpdate = () => {};
    this.onLive = () => {};
  }

  headers(extra = {}) {
    const h = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...extra };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) h.Authorization = `Bearer ${token}`;
    if (this.session) h['Mcp-Session-Id'] = this.session;
    return h;
  }

  async post(message) {
    const res = await fetch('/mcp', { method: 'POST', headers: this.headers({ 'MCP-Protocol-Version': '2025-06-18' }), body: JSON.stringify(message) });
    if (res.status === 401) throw Object.assign(new Error('this server needs a token'), { auth: true });
    if (res.status === 404 && this.session) {
      // The session ended (a restart): start another and ask again.
      this.session = null;
      await this.connect();
      return this.post(message);
    }
    if (!res.ok && res.status !== 202) {
      let why = `${res.status}`;
      try { why += `: ${(await res.json()).error ?? ''}`; } catch { /* not JSON */ }
      throw new Error(`/mcp answered ${why}`);
    }
    const id = res.headers.get('Mcp-Session-Id');
    if (id) this.session = id;
    if (res.status === 202 || !('id' in message)) return null;
    const type = res.headers.get('Content-Type') ?? '';
    const reply = type.includes('text/event-stream') ? await lastSseMessage(res) : await res.json();
    if (reply.error) throw new Error(reply.error.message);
    return reply.result;
  }

  request(method, params = {}) {
    return this.post({ jsonrpc: '2.0', id: this.nextId++, method, params });
  }

  async call(name, args = {}) {
    const result = await this.request('tools/call', { name, arguments: args });
    if (result.isError) throw new Error(result.content?.[0]?.text ?? `${name} failed`);
    return result.structuredContent;
  }

  async connect() {
    await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'hookmcp-console', version: '1' } });
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const { tools } = await this.request('tools/list');
    this.tools = new Set(tools.map((t) => t.name));
    await this.request('resources/subscribe', { uri: 'hookmcp://events' });
    this.listen();
  }

  // The session's stream: server-to-client messages, read as they come.
  async listen() {
    const session = this.session;
    for (let backoff = 500; session === this.session; backoff = Math.min(backoff * 2, 10000)) {
      try {
        const res = await fetch('/mcp', { headers: this.headers({ Accept: 'text/event-stream' }) });
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        this.onLive(true);
        backoff = 500;
        for await (const message of sseMessages(res)) {
          if (message.method === 'notifications/resources/updated') this.onUpdate();
        }
      } catch { /* the stream ended: open it again */ }
      this.onLive(false);
      await new Promise((r) => setTimeout(r, backoff));
    }
  }
}

// Each JSON message of a text/event-stream body.
async function* sseMessages(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) {
        try { yield JSON.parse(data); } catch { /* not a message */ }
      }
    }
  }
}

async function lastSseMessage(res) {
  let last = null;
  for await (const m of sseMessages(res)) {
    if ('id' in m) return m;
    last = m;
  }
  return last ?? { error: { message: 'no answer on the stream' } };
}

// ---- State and rendering ----

const mcp = new Mcp();
const view = { events: [], cursor: null, selected: null, detail: null, loading: false, query: 0 };

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function showProblem(message) {
  $('problem').hidden = !message;
  $('problem').textContent = message ?? '';
}

function filters() {
  const args = { limit: PAGE, status: $('f-status').value };
  for (const [key, id] of [['source', 'f-source'], ['type', 'f-type'], ['action', 'f-action']]) {
    const v = $(id).value.trim();
    if (v) args[key] = v;
  }
  const since = Number($('f-since').value);
  if (since) args.since = new Date(Date.now() - since * 1000).toISOString();
  return args;
}

async function load({ more = false } = {}) {
  const query = ++view.query;
  const args = filters();
  const text = $('search').value.trim();
  if (more && view.cursor) args.cursor = view.cursor;
  try {
    const page = text ? await mcp.call('search_events', { ...args, query: text }) : await mcp.call('list_events', args);
    if (query !== view.query) return;  // a newer query answered first
    const known = new Set(view.events.map((e) => e.id));
    view.events = more ? [...view.events, ...page.events] : page.events;
    view.cursor = page.nextCursor ?? null;
    renderRows(more ? null : known);
    showProblem(null);
  } catch (e) {
    handleError(e);
  }
}

function renderRows(known) {
  const body = $('rows');
  body.replaceChildren();
  for (const e of view.events) {
    const tr = el('tr');
    tr.tabIndex = 0;
    tr.dataset.id = e.id;
    if (known && known.size && !known.has(e.id)) tr.classList.add('fresh');
    if (e.id === view.selected) tr.classList.add('selected');
    tr.append(el('td', e.id, 'num'), el('td', new Date(e.received_at).toLocaleString()),
      el('td', e.source), el('td', e.type), el('td', e.action), el('td', e.status, `status-${e.status}`),
      el('td', e.size, 'num'));
    tr.addEventListener('click', () => open(e.id));
    tr.addEventListener('keydown', (k) => { if (k.key === 'Enter') open(e.id); });
    body.append(tr);
  }
  $('empty').hidden = view.events.length > 0;
  $('older').hidden = !view.cursor;
}

async function loadSources() {
  try {
    const { sources } = await mcp.call('list_sources');
    const list = $('source-list');
    const select = $('f-source');
    const chosen = select.value;
    list.replaceChildren();
    select.replaceChildren(el('option', 'all sources'));
    select.firstChild.value = '';
    for (const s of sources) {
      const b = el('button');
      b.type = 'button';
      b.setAttribute('aria-pressed', String(s.name === chosen));
      b.append(el('span', s.name), el('span', `${s.pending}/${s.events}`, 'muted'));
      b.title = `${s.provider}: ${s.events} events, ${s.pending} pending`;
      b.addEventListener('click', () => { select.value = s.name === chosen ? '' : s.name; refresh(); });
      const li = el('li');
      li.append(b);
      list.append(li);
      const o = el('option', s.name);
      o.value = s.name;
      select.append(o);
    }
    select.value = chosen;
  } catch (e) {
    handleError(e);
  }
}

// ---- One event ----

async function open(id) {
  view.selected = id;
  for (const tr of $('rows').children) tr.classList.toggle('selected', Number(tr.dataset.id) === id);
  try {
    const e = await mcp.call('get_event', { id, max_bytes: 1 << 20 });
    view.detail = e;
    renderDetail(e);
  } catch (err) {
    handleError(err);
  }
}

function renderDetail(e) {
  $('main').classList.remove('no-detail');
  $('detail').hidden = false;
  $('detail-title').textContent = `Event ${e.id}`;
  const summary = $('summary');
  summary.replaceChildren();
  const fields = [['source', e.source], ['provider', e.provider], ['type', e.type], ['action', e.action],
    ['delivery id', e.delivery_id], ['received', e.received_at], ['verified', e.verified ? 'signature verified' : 'not signed'],
    ['status', e.status + (e.acked_at ? ` at ${e.acked_at}` : '')], ['bytes', e.size], ['content type', e.content_type]];
  if (e.ack_note) fields.push(['ack note', e.ack_note]);
  for (const [k, v] of fields) summary.append(el('dt', k), el('dd', v ?? ''));
  $('notice').textContent = e.payload_notice ?? '';
  const headers = $('headers').tBodies[0];
  headers.replaceChildren();
  for (const [k, v] of Object.entries(e.headers ?? {})) {
    const tr = el('tr');
    tr.append(el('td', k), el('td', Array.isArray(v) ? v.join(', ') : v));
    headers.append(tr);
  }
  const [kind, text] = payloadText(e);
  $('payload-kind').textContent = kind + (e.truncated ? ' (cut short)' : '');
  $('payload').textContent = text;
  $('ack').disabled = e.status === 'acked';
  $('copied').hidden = true;
  $('replay-box').hidden = !mcp.tools.has('replay_event');
}

function payloadText(e) {
  if (e.payload_encoding === 'base64') return ['binary, hex', hexView(atob(e.payload ?? ''))];
  if (typeof e.payload === 'string') return ['text', e.payload];
  return ['JSON', JSON.stringify(e.payload, null, 2)];
}

function hexView(bytes) {
  const lines = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const chunk = bytes.slice(at, at + 16);
    const hex = [...chunk].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
    const ascii = [...chunk].map((c) => (c >= ' ' && c <= '~' ? c : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

// A shell word: single-quoted, its own single quotes closed and escaped.
const sh = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

function bodyOf(e) {
  if (e.payload_encoding === 'base64') return null;
  return typeof e.payload === 'string' ? e.payload : JSON.stringify(e.payload);
}

function curlCommand(e) {
  const lines = [`curl -X POST ${sh(`${location.origin}/hooks/${e.source}`)}`];
  for (const [k, v] of Object.entries(e.headers ?? {})) {
    if (/^(host|content-length|connection|transfer-encoding)$/i.test(k)) continue;
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`  -H ${sh(`${k}: ${one}`)}`);
  }
  const body = bodyOf(e);
  lines.push(body === null ? '  --data-binary @payload.bin' : `  --data-binary ${sh(body)}`);
  return lines.join(' \\\n');
}

function sendCommand(e) {
  const body = bodyOf(e);
  const file = body === null ? 'payload.bin' : 'payload.json';
  const write = body === null ? '' : `cat > ${file} <<'HOOKMCP_EOF'\n${body}\nHOOKMCP_EOF\n`;
  const type = e.type ? ` --type ${sh(e.type)}` : '';
  return `${write}hookmcp send --source ${sh(e.source)}${type} --url ${sh(`${location.origin}/hooks/${e.source}`)} ${file}`;
}

async function copy(text) {
  const box = $('copied');
  box.textContent = text;
  box.hidden = false;
  try { await navigator.clipboard.writeText(text); box.title = 'Copied to the clipboard'; } catch { box.title = 'Select and copy'; }
}

async function ack() {
  if (!view.detail) return;
  try {
    await mcp.call('ack_events', { ids: [view.detail.id], note: 'acked in the console' });
    await open(view.detail.id);
    await Promise.all([load(), loadSources()]);
  } catch (e) {
    handleError(e);
  }
}

async function replay() {
  if (!view.detail) return;
  try {
    const run = await mcp.call('replay_event', { id: view.detail.id, trigger: $('replay-trigger').value });
    copy(`replayed to ${run.trigger}: ${run.state}${run.status ? `, status ${run.status}` : ''}${run.error ? `, ${run.error}` : ''}`);
    loadStatus();
  } catch (e) {
    handleError(e);
  }
}

// ---- Health, metrics, subscriptions, connections, runs ----

async function loadHealth() {
  const pill = $('health');
  try {
    const res = await fetch('/healthz');
    const h = await res.json();
    pill.textContent = h.status === 'ok' ? `healthy, ${h.version}` : `unhealthy: ${h.error ?? h.status}`;
    pill.className = `pill ${h.status === 'ok' ? 'ok' : 'bad'}`;
  } catch {
    pill.textContent = 'unreachable';
    pill.className = 'pill bad';
  }
  try {
    const text = await (await fetch('/metrics')).text();
    const sum = (name) => text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const stats = $('stats');
    stats.replaceChildren();
    for (const [label, name] of [['received', 'hookmcp_webhooks_received_total'], ['stored', 'hookmcp_webhooks_stored_total'],
      ['rejected', 'hookmcp_webhooks_rejected_total'], ['MCP sessions', 'hookmcp_mcp_sessions']]) {
      const d = el('div');
      d.append(el('dt', label), el('dd', sum(name)));
      stats.append(d);
    }
  } catch { /* metrics are extra */ }
}

function item(list, text, state) {
  const li = el('li', text);
  if (state) li.classList.add(`state-${state}`);
  list.append(li);
}

async function loadStatus() {
  try {
    const result = await mcp.request('resources/read', { uri: 'hookmcp://status' });
    const s = JSON.parse(result.contents[0].text);
    const subs = $('subscriptions');
    subs.replaceChildren();
    for (const x of s.subscriptions) {
      item(subs, `${x.url}: ${x.ended ? `ended (${x.end_reason})` : x.failures ? `failing ${x.failures}× (${x.last_error})` : `at event ${x.position}`}`,
        x.ended || x.failures ? 'failed' : 'active');
    }
    if (!s.subscriptions.length) item(subs, 'none');
    const conns = $('connections');
    conns.replaceChildren();
    for (const c of s.connections) {
      item(conns, `${c.name}: ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.expires_at ? `, expires ${c.expires_at}` : ''}`, c.status);
    }
    if (!s.connections.length) item(conns, 'none');
    const runs = $('runs');
    runs.replaceChildren();
    for (const r of s.trigger_runs) {
      item(runs, `${r.trigger} on event ${r.event_id}: ${r.state}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}${r.error ? ` (${r.error})` : ''}`, r.state);
    }
    if (!s.trigger_runs.length) item(runs, 'none');
    const select = $('replay-trigger');
    select.replaceChildren();
    for (const t of s.triggers ?? []) { const o = el('option', t); o.value = t; select.append(o); }
  } catch (e) {
    handleError(e);
  }
}

// ---- Wiring ----

function handleError(e) {
  if (e.auth) {
    $('token-form').hidden = false;
    $('main').hidden = true;
    $('token').focus();
    return;
  }
  showProblem(e.message);
}

let refreshing = null;
function refresh() {
  // Many commits in a burst: one reload of the view.
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    await Promise.all([load(), loadSources()]);
  }, 100);
}

function move(step) {
  const rows = [...$('rows').children];
  const at = rows.indexOf(document.activeElement);
  const next = rows[Math.max(0, Math.min(rows.length - 1, at + step))];
  next?.focus();
}

function closeDetail() {
  $('detail').hidden = true;
  $('main').classList.add('no-detail');
  view.selected = null;
  view.detail = null;
}

async function start() {
  showProblem(null);
  try {
    await mcp.connect();
    $('token-form').hidden = true;
    $('main').hidden = false;
    await Promise.all([load(), loadSources(), loadStatus()]);
  } catch (e) {
    handleError(e);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('main').classList.add('no-detail');
  mcp.onUpdate = () => { refresh(); loadStatus(); };
  mcp.onLive = (live) => { $('live').textContent = live ? 'live' : 'reconnecting'; $('live').className = `pill ${live ? 'ok' : 'bad'}`; };
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    mcp.session = null;
    start();
  });
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); load(); });
  let typing = null;
  $('filters').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => load(), 250); });
  $('filters').addEventListener('change', () => load());
  $('older').addEventListener('click', () => load({ more: true }));
  $('close').addEventListener('click', closeDetail);
  $('ack').addEventListener('click', ack);
  $('copy-curl').addEventListener('click', () => view.detail && copy(curlCommand(view.detail)));
  $('copy-send').addEventListener('click', () => view.detail && copy(sendCommand(view.detail)));
  $('replay').addEventListener('click', replay);
  document.addEventListener('keydown', (k) => {
    if (k.target.matches?.('input, select, textarea')) {
      if (k.key === 'Escape') k.target.blur();
      return;
    }
    if (k.key === '/') { k.preventDefault(); $('search').focus(); }
    else if (k.key === 'j') move(1);
    else if (k.key === 'k') move(-1);
    else if (k.key === 'Escape') closeDetail();
  });
  loadHealth();
  setInterval(loadHealth, 5000);
  // Runs and deliveries change without a new event: looked at again every 2 s.
  setInterval(() => { if (mcp.session) loadStatus(); }, 2000);
  start();
});
