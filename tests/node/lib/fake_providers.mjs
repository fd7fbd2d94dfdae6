// Local stand-ins for the provider APIs hookmcp's connections call, following the documented
// request and response shapes: GitHub's repository webhooks, Google's OAuth token endpoint,
// Calendar's events.watch / events.list / channels.stop, Gmail's users.watch / history.list /
// messages.get, Microsoft's token endpoint and Graph's subscriptions. Each records what it was
// asked, and can send notifications the way the provider would.
import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';

const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
};

export async function startFakeProviders() {
  const calls = [];  // { method, path, query, body, at }
  const state = {
    // path -> how many more requests to it are answered 429 (rate limited), as a busy API does.
    limited: new Map(),
    // OAuth: refresh tokens that work, access tokens handed out.
    refreshTokens: new Set(),
    accessTokens: new Set(),
    accessTtlS: 3600,
    // Authorization codes of the loopback flow: code -> { challenge, redirect, refresh }.
    codes: new Map(),
    // Device codes: device_code -> { polls, refresh }.
    devices: new Map(),
    // GitHub
    githubToken: 'ghp_test',
    hooks: new Map(),  // id -> hook
    nextHookId: 1000,
    pings: [],         // the status hookmcp answered each ping with
    // Calendar
    calEvents: new Map(),  // id -> resource
    calLog: [],            // [{ seq, id }]
    calSeq: 1,
    calExpiredBefore: 0,   // sync tokens older than this answer 410
    channels: new Map(),   // id -> { address, token, resourceId, expiration, messages, stoppedAt }
    channelTtlMs: 7 * 24 * 3600 * 1000,
    // Gmail
    historyId: 5000,
    history: [],           // [{ id, messageId }]
    messages: new Map(),   // id -> message
    gmailWatches: [],
    gmailExpirationMs: 7 * 24 * 3600 * 1000,
    // Graph
    subscriptions: new Map(),  // id -> subscription
    graphResources: new Map(), // path -> resource
    graphLifetimeMs: 0,        // when set, subscriptions last this long whatever was asked
  };

  const bearerOk = (req) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m && (state.accessTokens.has(m[1]) || m[1] === state.githubToken);
  };
  const token = () => {
    const t = `ya29.${randomUUID()}`;
    state.accessTokens.add(t);
    return { access_token: t, expires_in: state.accessTtlS, token_type: 'Bearer' };
  };

  function tokenEndpoint(form, res) {
    const grant = form.get('grant_type');
    if (grant === 'refresh_token') {
      if (!state.refreshTokens.has(form.get('refresh_token'))) {
        return json(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      }
      return json(res, 200, token());
    }
    if (grant === 'authorization_code') {
      const c = state.codes.get(form.get('code'));
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!c || c.challenge !== challenge || c.redirect !== form.get('redirect_uri')) {
        return json(res, 400, { error: 'invalid_grant', error_description: 'Bad code or verifier.' });
      }
      state.codes.delete(form.get('code'));
      state.refreshTokens.add(c.refresh);
      return json(res, 200, { ...token(), refresh_token: c.refresh });
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:device_code') {
      const d = state.devices.get(form.get('device_code'));
      if (!d) return json(res, 400, { error: 'expired_token' });
      if (d.polls++ < 1) return json(res, 400, { error: 'authorization_pending' });
      state.refreshTokens.add(d.refresh);
      return json(res, 200, { ...token(), refresh_token: d.refresh });
    }
    return json(res, 400, { error: 'unsupported_grant_type' });
  }

  // What a channel's notification carries (Calendar push).
  async function notifyChannel(ch, resourceState) {
    ch.messages += 1;
    const res = await fetch(ch.address, {
      method: 'POST',
      headers: {
        'X-Goog-Channel-ID': ch.id, 'X-Goog-Channel-Token': ch.token,
        'X-Goog-Resource-ID': ch.resourceId, 'X-Goog-Resource-State': resourceState,
        'X-Goog-Message-Number': String(ch.messages),
        'X-Goog-Resource-URI': 'https://www.googleapis.com/calendar/v3/calendars/primary/events',
        'X-Goog-Channel-Expiration': new Date(ch.expiration).toUTCString(),
      },
    });
    return res.status;
  }

  async function handle(req, res, body) {
    const url = new URL(req.url, 'http://fake');
    const path = url.pathname;
    const q = url.searchParams;
    calls.push({ method: req.method, path, query: Object.fromEntries(q), body, at: Date.now() });
    const form = () => new URLSearchParams(body);
    if (state.limited.get(path) > 0) {
      state.limited.set(path, state.limited.get(path) - 1);
      return json(res, 429, { error: { code: 429, message: 'Rate Limit Exceeded' } }, { 'Retry-After': '1' });
    }
    const data = () => (body ? JSON.parse(body) : {});

    // ---- OAuth (Google and Microsoft share the shapes) ----
    if ((path === '/google/token' || path === '/ms/token') && req.method === 'POST') return tokenEndpoint(form(), res);
    if ((path === '/google/device/code' || path === '/ms/devicecode') && req.method === 'POST') {
      const device = randomUUID();
      state.devices.set(device, { polls: 0, refresh: `1//device-${randomUUID()}` });
      return json(res, 200, { device_code: device, user_code: 'ABCD-EFGH', verification_uri: 'https://microsoft.com/devicelogin', expires_in: 900, interval: 1 });
    }
    if ((path === '/google/auth' || path === '/ms/authorize') && req.method === 'GET') {
      // The person agreed: back to the app's redirect with a code and its state.
      const code = randomUUID();
      state.codes.set(code, { challenge: q.get('code_challenge'), redirect: q.get('redirect_uri'), refresh: `1//browser-${randomUUID()}` });
      const to = new URL(q.get('redirect_uri'));
      to.searchParams.set('code', code);
      to.searchParams.set('state', q.get('state'));
      res.writeHead(302, { Location: to.toString() });
      return res.end();
    }

    if (!bearerOk(req)) return json(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.' } });

    // ---- GitHub repository webhooks ----
    let m = /^\/gh\/repos\/([^/]+)\/([^/]+)\/hooks(?:\/(\d+))?$/.exec(path);
    if (m) {
      const id = m[3] && Number(m[3]);
      if (!id && req.method === 'GET') return json(res, 200, [...state.hooks.values()].map(({ secret, ...h }) => ({ ...h, config: { ...h.config, secret: '********' } })));
      if (!id && req.method === 'POST') {
        const b = data();
        const hook = { id: state.nextHookId++, type: 'Repository', name: 'web', active: b.active, events: b.events, config: b.config };
        state.hooks.set(hook.id, hook);
        json(res, 201, { ...hook, config: { ...hook.config, secret: '********' } });
        // GitHub pings a new hook, signed with its secret.
        const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: hook.id, hook: { id: hook.id, events: hook.events } });
        const r = await fetch(hook.config.url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'ping', 'X-GitHub-Delivery': randomUUID(), 'X-GitHub-Hook-ID': String(hook.id), 'X-Hub-Signature-256': await githubSign(hook.config.secret, ping) }, body: ping }).catch(() => ({ status: 0 }));
        state.pings.push(r.status);
        return;
      }
      const hook = state.hooks.get(id);
      if (!hook) return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      if (req.method === 'GET') return json(res, 200, { ...hook, config: { ...hook.config, secret: '********' } });
      if (req.method === 'PATCH') {
        const b = data();
        Object.assign(hook, { active: b.active ?? hook.active, events: b.events ?? hook.events, config: { ...hook.config, ...b.config } });
        return json(res, 200, { ...hook, config: { ...hook.config, secret: '********' } });
      }
      if (req.method === 'DELETE') { state.hooks.delete(id); res.writeHead(204); return res.end(); }
    }

    // ---- Calendar ----
    if (path === '/cal/calendars/primary/events' && req.method === 'GET') {
      const sync = q.get('syncToken');
      if (sync && Number(sync.slice(1)) < state.calExpiredBefore) {
        return json(res, 410, { error: { code: 410, message: 'Sync token is no longer valid, a full sync is required.', errors: [{ reason: 'fullSyncRequired' }] } });
      }
      const since = sync ? Number(sync.slice(1)) : 0;
      const ids = sync ? [...new Set(state.calLog.filter((l) => l.seq > since).map((l) => l.id))] : [...state.calEvents.keys()];
      const items = ids.map((id) => state.calEvents.get(id)).filter((e) => sync || e.status !== 'cancelled');
      return json(res, 200, { kind: 'calendar#events', items, nextSyncToken: `s${state.calSeq}` });
    }
    if (path === '/cal/calendars/primary/events/watch' && req.method === 'POST') {
      const b = data();
      const ch = { id: b.id, address: b.address, token: b.token, resourceId: `res-${randomUUID()}`, expiration: Date.now() + state.channelTtlMs, messages: 0, createdAt: Date.now(), stoppedAt: 0 };
      state.channels.set(ch.id, ch);
      json(res, 200, { kind: 'api#channel', id: ch.id, resourceId: ch.resourceId, resourceUri: 'https://www.googleapis.com/calendar/v3/calendars/primary/events', token: ch.token, expiration: String(ch.expiration) });
      await notifyChannel(ch, 'sync');
      return;
    }
    if (path === '/cal/channels/stop' && req.method === 'POST') {
      const b = data();
      const ch = state.channels.get(b.id);
      if (!ch || ch.resourceId !== b.resourceId) return json(res, 404, { error: { code: 404, message: 'Channel not found' } });
      ch.stoppedAt = Date.now();
      res.writeHead(204);
      return res.end();
    }

    // ---- Gmail ----
    if (path === '/gmail/users/me/watch' && req.method === 'POST') {
      state.gmailWatches.push({ ...data(), at: Date.now() });
      return json(res, 200, { historyId: String(state.historyId), expiration: String(Date.now() + state.gmailExpirationMs) });
    }
    if (path === '/gmail/users/me/stop' && req.method === 'POST') { res.writeHead(204); return res.end(); }
    if (path === '/gmail/users/me/profile') return json(res, 200, { emailAddress: 'me@example.com', historyId: String(state.historyId) });
    if (path === '/gmail/users/me/history') {
      const start = Number(q.get('startHistoryId'));
      const history = state.history.filter((h) => h.id > start).map((h) => ({ id: String(h.id), messagesAdded: [{ message: { id: h.messageId, threadId: h.messageId, labelIds: ['INBOX'] } }] }));
      return json(res, 200, { history, historyId: String(state.historyId) });
    }
    m = /^\/gmail\/users\/me\/messages\/([^/]+)$/.exec(path);
    if (m) {
      const msg = state.messages.get(m[1]);
      if (!msg) return json(res, 404, { error: { code: 404, message: 'Requested entity was not found.' } });
      return json(res, 200, q.get('format') === 'full' ? msg : { ...msg, payload: { headers: msg.payload.headers } });
    }

    // ---- Microsoft Graph ----
    if (path === '/graph/subscriptions' && req.method === 'POST') {
      const b = data();
      // Graph validates the notification URL before it creates the subscription.
      const token = `validate-${randomUUID()}`;
      const v = await fetch(`${b.notificationUrl}?validationToken=${encodeURIComponent(token)}`, { method: 'POST' });
      if (v.status !== 200 || (await v.text()) !== token) {
        return json(res, 400, { error: { code: 'InvalidRequest', message: 'Subscription validation request failed.' } });
      }
      const expires = state.graphLifetimeMs ? new Date(Date.now() + state.graphLifetimeMs).toISOString() : b.expirationDateTime;
      const sub = { id: randomUUID(), resource: b.resource, changeType: b.changeType, notificationUrl: b.notificationUrl, clientState: b.clientState, expirationDateTime: expires, renewals: 0 };
      state.subscriptions.set(sub.id, sub);
      return json(res, 201, sub);
    }
    m = /^\/graph\/subscriptions\/([^/]+)$/.exec(path);
    if (m) {
      const sub = state.subscriptions.get(m[1]);
      if (!sub) return json(res, 404, { error: { code: 'ResourceNotFound', message: 'The object was not found.' } });
      if (req.method === 'GET') return json(res, 200, sub);
      if (req.method === 'PATCH') {
        sub.expirationDateTime = state.graphLifetimeMs ? new Date(Date.now() + state.graphLifetimeMs).toISOString() : data().expirationDateTime;
        sub.renewals += 1;
        return json(res, 200, sub);
      }
      if (req.method === 'DELETE') { state.subscriptions.delete(sub.id); res.writeHead(204); return res.end(); }
    }
    if (path.startsWith('/graph/')) {
      const r = state.graphResources.get(path.slice('/graph/'.length));
      return r ? json(res, 200, r) : json(res, 404, { error: { code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' } });
    }
    return json(res, 404, { message: 'no such fake endpoint' });
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((e) => {
        if (!res.headersSent) json(res, 500, { error: { message: String(e) } });
      });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;

  return {
    base,
    calls,
    state,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
    // Calendar: an event created, changed or cancelled, then every live channel told.
    async calendarChange(id, change) {
      const now = new Date().toISOString();
      const was = state.calEvents.get(id);
      const ev = change === 'cancelled'
        ? { ...was, status: 'cancelled', updated: now }
        : { kind: 'calendar#event', id, status: 'confirmed', summary: change.summary, created: was?.created ?? now, updated: was ? new Date(Date.now() + 2000).toISOString() : now, start: { dateTime: '2026-12-10T10:00:00Z' }, end: { dateTime: '2026-12-10T11:00:00Z' } };
      state.calEvents.set(id, ev);
      state.calLog.push({ seq: ++state.calSeq, id });
      const statuses = [];
      for (const ch of state.channels.values()) {
        if (!ch.stoppedAt && ch.expiration > Date.now()) statuses.push(await notifyChannel(ch, 'exists'));
      }
      return statuses;
    },
    // Gmail: a message arrives; returns the new history id for the Pub/Sub push.
    gmailReceive(id, { from, subject, snippet }) {
      state.historyId += 7;
      state.messages.set(id, { id, threadId: id, labelIds: ['INBOX'], snippet, historyId: String(state.historyId), internalDate: String(Date.now()),
        payload: { mimeType: 'text/plain', headers: [{ name: 'From', value: from }, { name: 'To', value: 'me@example.com' }, { name: 'Subject', value: subject }], body: { data: Buffer.from(`${snippet} (the whole body)`).toString('base64url') } } });
      state.history.push({ id: state.historyId, messageId: id });
      return state.historyId;
    },
    // Graph: a change notification (or a lifecycle event) for every subscription.
    async graphNotify(item) {
      const statuses = [];
      for (const sub of state.subscriptions.values()) {
        const value = [{ subscriptionId: sub.id, clientState: sub.clientState, tenantId: 'tenant-1', subscriptionExpirationDateTime: sub.expirationDateTime, ...item }];
        const r = await fetch(sub.notificationUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ value }) });
        statuses.push(r.status);
      }
      return statuses;
    },
  };
}
