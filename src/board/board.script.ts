/**
 * The board's browser script (plain ES2020, no build step). It reads `GET api/v1/nodes` (which also
 * tells whether a token is needed), the `/ws` snapshot and deltas for nodes, calls, endpoints and
 * alerts, and `GET api/v1/nodes/{node}/diagnostics` for findings and remedies.
 *
 * Forgetting the token or having it refused drops everything read with it: the page keeps no data
 * it is no longer allowed to see.
 *
 * Every value from the daemon is attacker-influenced (endpoint names, user agents, SIP usernames):
 * it reaches the DOM through textContent and setAttribute only, never through HTML parsing.
 * Kept free of template literals so it can live in this TypeScript string unchanged.
 */
export const BOARD_SCRIPT = String.raw`'use strict';
(function () {
  const TOKEN_KEY = 'pbxpulse.token';
  const SEP = '\u0000';
  const MAX_BACKOFF_MS = 30000;
  const DIAGNOSTICS_EVERY_MS = 60000;
  // The gateway's heartbeat is a WebSocket ping, which page scripts never see: a socket that died
  // without a close frame (sleep, network change, a proxy dropping it) would look live forever.
  const WATCHDOG_EVERY_MS = 15000;
  const PROBE_TIMEOUT_MS = 10000;
  // The board never filters, so re-sending the default subscription changes nothing; it is the one
  // client message the protocol answers ("subscribed"), which makes it an application-level ping.
  const PROBE_MESSAGE = '{"type":"subscribe"}';
  const TOKEN_REFUSED = 'The token was refused. Enter the viewer token:';
  const TOKEN_NEEDED = 'This pbxpulse needs a viewer token:';

  const state = {
    nodes: new Map(),
    endpoints: new Map(),
    calls: new Map(),
    alerts: new Map(),
    findings: new Map(),
    // connecting | live | disconnected | locked
    link: 'connecting',
    retryAt: 0,
  };
  let socket = null;
  let retryTimer = null;
  let diagTimer = null;
  let attempts = 0;
  let renderQueued = false;
  // Bumped whenever the data is dropped: answers to requests sent before that are ignored.
  let epoch = 0;
  // Watchdog: when the socket last delivered a message, and when the pending probe was sent.
  let lastHeardAt = 0;
  let probeSentAt = 0;
  let probing = false;

  const $ = (id) => document.getElementById(id);
  const key = (node, name) => node + SEP + name;

  class Unauthorized extends Error {}

  function storedToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      return '';
    }
  }

  function storeToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // Storage disabled: the token lives until the page is reloaded.
    }
    memoryToken = token;
  }
  let memoryToken = storedToken();

  async function api(path, timeoutMs) {
    const headers = { accept: 'application/json' };
    if (memoryToken) headers.authorization = 'Bearer ' + memoryToken;
    const abort = new AbortController();
    const timer = timeoutMs ? setTimeout(() => abort.abort(), timeoutMs) : null;
    let res;
    try {
      res = await fetch(path, { headers: headers, cache: 'no-store', signal: abort.signal });
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 401) throw new Unauthorized('401');
    if (!res.ok) {
      let message = 'HTTP ' + res.status;
      try {
        const body = await res.json();
        if (body && typeof body.message === 'string') message += ': ' + body.message;
      } catch (e) {
        // Not JSON: the status says enough.
      }
      throw new Error(message);
    }
    return res.json();
  }

  function backoff(n) {
    const base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, n));
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  function wsUrl() {
    const url = new URL('ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // Browsers cannot set headers on a WebSocket: /ws accepts the token as a query parameter.
    if (memoryToken) url.searchParams.set('token', memoryToken);
    return url.toString();
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  async function start() {
    clearTimeout(retryTimer);
    const mine = epoch;
    try {
      const body = await api('api/v1/nodes');
      if (epoch !== mine) return;
      $('token-panel').hidden = true;
      $('token-forget').hidden = !memoryToken;
      for (const n of body.nodes) state.nodes.set(n.name, n);
      connect();
    } catch (err) {
      if (epoch !== mine) return;
      if (err instanceof Unauthorized) {
        askForToken(memoryToken ? TOKEN_REFUSED : TOKEN_NEEDED);
      } else {
        retryLater(start);
      }
    }
    scheduleRender();
  }

  /** Drops everything read with the current token, so nothing stays on screen without it. */
  function clearData() {
    epoch += 1;
    clearTimeout(diagTimer);
    state.nodes.clear();
    state.endpoints.clear();
    state.calls.clear();
    state.alerts.clear();
    state.findings.clear();
    scheduleRender();
  }

  function askForToken(reason) {
    closeSocket();
    clearTimeout(retryTimer);
    clearData();
    state.link = 'locked';
    $('token-reason').textContent = reason;
    $('token-panel').hidden = false;
    $('token-forget').hidden = true;
    const input = $('token-input');
    input.value = '';
    input.focus();
    scheduleRender();
  }

  function retryLater(fn) {
    state.link = 'disconnected';
    const delay = backoff(attempts);
    attempts += 1;
    state.retryAt = Date.now() + delay;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(fn, delay);
    scheduleRender();
  }

  function closeSocket() {
    const s = socket;
    socket = null;
    if (s) s.close(1000, 'board closed');
  }

  function connect() {
    closeSocket();
    state.link = 'connecting';
    const s = new WebSocket(wsUrl());
    socket = s;
    lastHeardAt = Date.now();
    probeSentAt = 0;
    s.onmessage = (ev) => {
      if (socket !== s) return;
      lastHeardAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      onMessage(msg);
    };
    s.onclose = (ev) => {
      if (socket !== s) return;
      socket = null;
      if (ev.code === 4401) {
        askForToken(TOKEN_REFUSED);
        return;
      }
      // Re-check the API first: it tells a token change (401) from a daemon that is down.
      retryLater(start);
    };
    scheduleRender();
  }

  /** The socket is open but nothing proves it still reaches the daemon: treat it as closed. */
  function linkLost(s) {
    if (socket !== s) return;
    closeSocket();
    retryLater(start);
  }

  /**
   * Every WATCHDOG_EVERY_MS: if the socket has been quiet for half a round, probe it and the API. The
   * socket must deliver a message (any) before the next round; the API must answer 2xx within
   * PROBE_TIMEOUT_MS (a 401 asks for the token). A busy socket is proof enough and costs nothing.
   */
  function watchdog() {
    const s = socket;
    if (!s || probing) return;
    if (probeSentAt && lastHeardAt < probeSentAt) {
      linkLost(s);
      return;
    }
    probeSentAt = 0;
    if (Date.now() - lastHeardAt < WATCHDOG_EVERY_MS / 2) return;
    probeSentAt = Date.now();
    // Still handshaking: no probe to send, and no message by the next round means lost.
    if (s.readyState === WebSocket.OPEN) s.send(PROBE_MESSAGE);
    probeApi(s);
  }

  async function probeApi(s) {
    probing = true;
    try {
      await api('api/v1/nodes', PROBE_TIMEOUT_MS);
    } catch (err) {
      if (socket !== s) return;
      // A 401 now: the token was revoked (the daemon restarted with another one, say).
      if (err instanceof Unauthorized) askForToken(TOKEN_REFUSED);
      else linkLost(s);
    } finally {
      probing = false;
    }
  }

  // ---- the /ws stream ---------------------------------------------------------------------------

  function onMessage(m) {
    const d = m.data;
    switch (m.type) {
      case 'snapshot':
        attempts = 0;
        state.link = 'live';
        state.nodes = new Map(m.nodes.map((n) => [n.name, n]));
        state.calls = new Map(m.calls.map((c) => [key(c.node, c.linkedid), c]));
        state.endpoints = new Map(m.endpoints.map((e) => [key(e.node, e.name), e]));
        state.alerts = new Map(m.alerts.map((a) => [a.id, a]));
        refreshDiagnosticsSoon();
        break;
      case 'call.updated':
        if (d.supersedes) state.calls.delete(key(m.node, d.supersedes));
        state.calls.set(key(m.node, d.linkedid), Object.assign({ node: m.node }, d));
        break;
      case 'call.ended':
        state.calls.delete(key(m.node, d.linkedid));
        break;
      case 'registration.changed': {
        const k = key(m.node, d.endpoint);
        if (d.view) state.endpoints.set(k, Object.assign({ node: m.node }, d.view));
        else if (state.endpoints.has(k)) {
          const e = state.endpoints.get(k);
          e.registered = d.registered;
          e.contacts = d.contacts;
        }
        break;
      }
      case 'alert.raised':
        state.alerts.set(d.id, d);
        if (d.type === 'diagnostic') refreshDiagnosticsSoon();
        break;
      case 'alert.cleared':
        state.alerts.delete(d.id);
        if (d.type === 'diagnostic') refreshDiagnosticsSoon();
        break;
      case 'node.status':
        if (d && d.name) state.nodes.set(d.name, d);
        break;
      default:
        // hello, subscribed, state.resynced (a snapshot follows), control.action: nothing to show.
        return;
    }
    scheduleRender();
  }

  // ---- diagnostics (REST) -----------------------------------------------------------------------

  function refreshDiagnosticsSoon() {
    clearTimeout(diagTimer);
    diagTimer = setTimeout(refreshDiagnostics, 250);
  }

  async function refreshDiagnostics() {
    clearTimeout(diagTimer);
    diagTimer = setTimeout(refreshDiagnostics, DIAGNOSTICS_EVERY_MS);
    // Offline or locked: keep the last findings on screen rather than replace them with errors.
    if (state.link !== 'live') return;
    const mine = epoch;
    for (const name of Array.from(state.nodes.keys())) {
      try {
        const result = await api('api/v1/nodes/' + encodeURIComponent(name) + '/diagnostics');
        if (epoch !== mine) return;
        state.findings.set(name, result);
      } catch (err) {
        if (epoch !== mine) return;
        if (err instanceof Unauthorized) {
          askForToken(TOKEN_REFUSED);
          return;
        }
        state.findings.set(name, { error: err && err.message ? err.message : String(err) });
      }
    }
    scheduleRender();
  }

  // ---- rendering --------------------------------------------------------------------------------

  /** Builds an element; strings become text nodes, never markup. */
  function el(tag, props) {
    const e = document.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        const v = props[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = String(v);
        else e.setAttribute(k, String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      e.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  function replaceRows(tbodyId, rows, emptyText, columns) {
    const body = $(tbodyId);
    if (rows.length === 0) {
      rows = [el('tr', { class: 'empty' }, el('td', { colspan: columns, text: emptyText }))];
    }
    body.replaceChildren.apply(body, rows);
  }

  function ago(iso) {
    const t = Date.parse(iso);
    if (!Number.isFinite(t)) return '';
    return duration(Date.now() - t) + ' ago';
  }

  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + String(s % 60).padStart(2, '0') + ' s';
    const h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + String(m % 60).padStart(2, '0') + ' min';
    return Math.floor(h / 24) + ' d';
  }

  /** A live "N s ago" / "N s" text, refreshed every second by tick(). */
  function since(iso, mode) {
    return el('span', { class: 'since', 'data-since': iso, 'data-mode': mode || 'ago', title: iso }, sinceText(iso, mode));
  }

  function sinceText(iso, mode) {
    if (!iso) return '';
    return mode === 'duration' ? duration(Date.now() - Date.parse(iso)) : ago(iso);
  }

  function badge(text, cls, testid) {
    return el('span', { class: 'badge ' + cls, 'data-testid': testid }, text);
  }

  function linkCell(link, testid) {
    const status = link && link.status ? link.status : 'unknown';
    return el('td', null, badge(status, 'st-' + status, testid), ' ', link ? since(link.since) : null);
  }

  function renderNodes() {
    const rows = Array.from(state.nodes.values())
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((n) => {
        const errors = [n.ami && n.ami.lastError, n.ari && n.ari.lastError].filter(Boolean).join(' · ');
        const resync = n.lastResync && (n.lastResync.ami || n.lastResync.ari);
        return el(
          'tr',
          { 'data-testid': 'node-row', 'data-node': n.name },
          el('td', { class: 'strong', text: n.name }),
          linkCell(n.ami, 'node-ami'),
          linkCell(n.ari, 'node-ari'),
          el('td', { class: 'mono', 'data-testid': 'node-version', text: (n.asterisk && n.asterisk.version) || '—' }),
          el('td', null, resync ? since(resync) : '—'),
          el('td', { class: errors ? 'err' : 'muted', text: errors || '—' }),
        );
      });
    replaceRows('nodes-body', rows, state.link === 'locked' ? 'Enter the token to see the nodes' : 'No node configured', 6);
  }

  function callParties(c) {
    const ch = c.channels || [];
    const first = ch[0] || {};
    const from = first.endpoint || first.callerNum || first.name || '?';
    const callee = ch.find((x, i) => i > 0 && x.endpoint);
    const to = callee ? callee.endpoint : first.exten || first.connectedNum || '?';
    return from + ' → ' + to;
  }

  function renderCalls() {
    const calls = Array.from(state.calls.values()).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    const rows = calls.map((c) =>
      el(
        'tr',
        { 'data-testid': 'call-row', 'data-node': c.node, 'data-linkedid': c.linkedid },
        el('td', { class: 'nw', text: c.node }),
        el('td', null, el('span', { class: 'strong', 'data-testid': 'call-parties' }, callParties(c)), el('div', { class: 'mono small muted', text: c.linkedid })),
        el('td', null, badge(c.state, 'call-' + c.state, 'call-state')),
        el('td', { class: 'num' }, since(c.answeredAt || c.startedAt, 'duration')),
        el(
          'td',
          { class: 'mono small' },
          ...(c.channels || [])
            .filter((x) => !x.endedAt)
            .map((x) => el('div', null, x.name + ' ', el('span', { class: 'muted', text: x.state }))),
        ),
      ),
    );
    $('calls-count').textContent = String(calls.length);
    replaceRows('calls-body', rows, 'No active call', 5);
  }

  const ALERT_LABEL = { auth_loop: '401 loop', aor_not_found: 'AOR not found', diagnostic: 'diagnostic' };

  function renderAlerts() {
    const alerts = Array.from(state.alerts.values()).sort((a, b) => a.since.localeCompare(b.since));
    const rows = alerts.map((a) =>
      el(
        'tr',
        { 'data-testid': 'alert-row', 'data-alert-id': a.id, 'data-alert-type': a.type, 'data-endpoint': a.endpoint },
        el('td', null, badge(ALERT_LABEL[a.type] || a.type, 'al-' + a.type, 'alert-type')),
        el('td', { class: 'nw', text: a.node }),
        el('td', { class: 'strong nw', text: a.endpoint }),
        el('td', null, since(a.since)),
        el('td', { class: 'num', text: a.count }),
        el(
          'td',
          { class: 'wide' },
          el('div', { 'data-testid': 'alert-message', text: a.message }),
          el('div', { class: 'remedy', 'data-testid': 'alert-remedy' }, el('b', { text: 'Fix: ' }), a.remedy),
        ),
      ),
    );
    $('alerts-count').textContent = String(alerts.length);
    replaceRows('alerts-body', rows, 'No active alert', 6);
  }

  const SEVERITY_RANK = { error: 0, warning: 1, info: 2 };

  function renderFindings() {
    const rows = [];
    let count = 0;
    for (const node of Array.from(state.findings.keys()).sort()) {
      const result = state.findings.get(node);
      if (result.error) {
        rows.push(el('tr', { class: 'muted' }, el('td'), el('td', { text: node }), el('td', { colspan: 3, text: 'diagnostics unavailable: ' + result.error })));
        continue;
      }
      const findings = (result.findings || []).slice().sort((a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9));
      count += findings.length;
      for (const f of findings) {
        const obj = f.object ? f.object.type + ' ' + f.object.name : '';
        rows.push(
          el(
            'tr',
            { 'data-testid': 'finding-row', 'data-node': node, 'data-code': f.code, 'data-object': f.object ? f.object.name : '' },
            el('td', null, badge(f.severity, 'sev-' + f.severity, 'finding-severity')),
            el('td', { class: 'nw', text: node }),
            el('td', { class: 'mono strong nw', text: f.code }),
            el('td', { class: 'mono', text: obj }),
            el(
              'td',
              { class: 'wide' },
              el('div', { 'data-testid': 'finding-message', text: f.message }),
              el('div', { class: 'remedy', 'data-testid': 'finding-remedy' }, el('b', { text: 'Remedy: ' }), f.remedy),
            ),
          ),
        );
      }
    }
    $('findings-count').textContent = String(count);
    replaceRows('findings-body', rows, state.findings.size ? 'No finding: the configuration looks right' : 'Not diagnosed yet', 5);
  }

  function renderEndpoints() {
    const words = $('endpoint-filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    const show = $('endpoint-show').value;
    const all = Array.from(state.endpoints.values()).sort((a, b) => a.node.localeCompare(b.node) || a.name.localeCompare(b.name, undefined, { numeric: true }));
    const registered = all.filter((e) => e.registered).length;
    const shown = all.filter((e) => {
      if (show === 'registered' && !e.registered) return false;
      if (show === 'unregistered' && e.registered) return false;
      const hay = [e.node, e.name, e.deviceState, e.transport, e.context, (e.aors || []).join(' '), e.registered ? 'registered' : 'unregistered']
        .join(' ')
        .toLowerCase();
      return words.every((w) => hay.includes(w));
    });
    const rows = shown.map((e) =>
      el(
        'tr',
        { 'data-testid': 'endpoint-row', 'data-node': e.node, 'data-endpoint': e.name, 'data-registered': String(e.registered) },
        el('td', { class: 'nw', text: e.node }),
        el('td', { class: 'strong nw', text: e.name }),
        el('td', null, badge(e.registered ? 'registered' : 'unregistered', e.registered ? 'st-up' : 'st-off', 'endpoint-registered')),
        el('td', { class: 'num', text: e.contacts }),
        el(
          'td',
          { class: 'mono small nw' },
          el('div', { 'data-testid': 'endpoint-device', text: e.deviceState }),
          el('div', { class: 'muted', text: e.transport || '' }),
        ),
      ),
    );
    $('endpoints-count').textContent = registered + ' / ' + all.length + ' registered';
    replaceRows('endpoints-body', rows, all.length ? 'No endpoint matches the filter' : 'No endpoint known yet', 5);
  }

  function renderHeader() {
    const pill = $('ws-status');
    const labels = { live: 'live', connecting: 'connecting…', disconnected: 'disconnected', locked: 'token needed' };
    pill.textContent = labels[state.link];
    pill.className = 'pill pill-' + state.link;
    pill.setAttribute('data-state', state.link);
    const banner = $('banner');
    if (state.link === 'disconnected') {
      const left = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
      banner.textContent = 'Disconnected from pbxpulse: the data below may be stale. Retrying in ' + left + ' s.';
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    $('board').classList.toggle('stale', state.link !== 'live');
    const nodes = Array.from(state.nodes.values());
    const up = nodes.filter((n) => n.ami && n.ami.status === 'up' && n.ari && n.ari.status === 'up').length;
    $('summary').replaceChildren(
      el('span', { class: up === nodes.length ? 'ok' : 'err' }, up + '/' + nodes.length + ' nodes up'),
      el('span', null, state.calls.size + ' calls'),
      el('span', { class: state.alerts.size ? 'warn' : 'ok' }, state.alerts.size + ' alerts'),
    );
  }

  function render() {
    renderQueued = false;
    renderHeader();
    renderNodes();
    renderCalls();
    renderAlerts();
    renderFindings();
    renderEndpoints();
  }

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
  }

  function tick() {
    for (const e of document.querySelectorAll('[data-since]')) {
      e.textContent = sinceText(e.getAttribute('data-since'), e.getAttribute('data-mode'));
    }
    if (state.link === 'disconnected') renderHeader();
  }

  // ---- wiring -----------------------------------------------------------------------------------

  function init() {
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = $('token-input').value.trim();
      if (!token) return;
      storeToken(token);
      $('token-panel').hidden = true;
      attempts = 0;
      state.link = 'connecting';
      start();
    });
    $('token-forget').addEventListener('click', () => {
      storeToken('');
      closeSocket();
      // At once, not after the API's 401: nothing read with the token stays on screen meanwhile.
      clearData();
      start();
    });
    $('endpoint-filter').addEventListener('input', renderEndpoints);
    $('endpoint-show').addEventListener('change', renderEndpoints);
    setInterval(tick, 1000);
    setInterval(watchdog, WATCHDOG_EVERY_MS);
    scheduleRender();
    start();
  }

  init();
})();
`;
