/**
 * The board's browser script, bundled by esbuild (scripts/build-board.mjs). It reads `GET api/v1/nodes`
 * (which also tells whether a token is needed), the `/ws` snapshot and deltas for nodes, calls,
 * endpoints, contacts and alerts, `GET api/v1/nodes/{node}/contacts` once per snapshot, and
 * `GET api/v1/nodes/{node}/diagnostics` for findings and remedies.
 *
 * Forgetting the token or having it refused drops everything read with it: the page keeps no data
 * it is no longer allowed to see.
 */
import { toDom, type VNode } from './board.dom';
import type { ContactsResponse, DiagnosticsResponse, NodesResponse, ServerMessage } from './board.protocol';
import {
  alertRows,
  callRows,
  endpointRows,
  type EndpointShow,
  type FindingsOfNode,
  findingRows,
  type LinkState,
  nodeRows,
  type SinceMode,
  sinceText,
  summary,
} from './board.render';
import {
  affectsDiagnostics,
  applyContacts,
  applyMessage,
  applyNodes,
  type BoardData,
  contactsTouchedBy,
  EMPTY_DATA,
} from './board.state';

const TOKEN_KEY = 'pbxpulse.token';
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
const CLOSE_UNAUTHORIZED = 4401;

let data: BoardData = EMPTY_DATA;
let findings = new Map<string, FindingsOfNode>();
let link: LinkState = 'connecting';
let retryAt = 0;
let socket: WebSocket | null = null;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let diagTimer: ReturnType<typeof setTimeout> | undefined;
let attempts = 0;
let renderQueued = false;
// Bumped whenever the data is dropped: answers to requests sent before that are ignored.
let epoch = 0;
// Watchdog: when the socket last delivered a message, and when the pending probe was sent.
let lastHeardAt = 0;
let probeSentAt = 0;
let probing = false;
/** Per node with a contacts read in flight: the endpoints a delta updated since it left. */
const contactReads = new Map<string, Set<string>>();

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error('board.html has no #' + id);
  return e as T;
}

class Unauthorized extends Error {}

function storedToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

let memoryToken = storedToken();

function storeToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives until the page is reloaded.
  }
  memoryToken = token;
}

async function api<T>(path: string, timeoutMs?: number): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (memoryToken) headers.authorization = 'Bearer ' + memoryToken;
  const abort = new AbortController();
  const timer = timeoutMs ? setTimeout(() => abort.abort(), timeoutMs) : undefined;
  let res: Response;
  try {
    res = await fetch(path, { headers, cache: 'no-store', signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 401) throw new Unauthorized('401');
  if (!res.ok) {
    let message = 'HTTP ' + res.status;
    try {
      const body = (await res.json()) as { message?: unknown } | null;
      if (body && typeof body.message === 'string') message += ': ' + body.message;
    } catch {
      // Not JSON: the status says enough.
    }
    throw new Error(message);
  }
  return (await res.json()) as T;
}

function backoff(n: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, n));
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

function wsUrl(): string {
  const url = new URL('ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers cannot set headers on a WebSocket: /ws accepts the token as a query parameter.
  if (memoryToken) url.searchParams.set('token', memoryToken);
  return url.toString();
}

// ---- lifecycle ------------------------------------------------------------------------------------

async function start(): Promise<void> {
  clearTimeout(retryTimer);
  const mine = epoch;
  try {
    const body = await api<NodesResponse>('api/v1/nodes');
    if (epoch !== mine) return;
    $('token-panel').hidden = true;
    $('token-forget').hidden = !memoryToken;
    data = applyNodes(data, body.nodes);
    connect();
  } catch (err) {
    if (epoch !== mine) return;
    if (err instanceof Unauthorized) askForToken(memoryToken ? TOKEN_REFUSED : TOKEN_NEEDED);
    else retryLater();
  }
  scheduleRender();
}

/** Drops everything read with the current token, so nothing stays on screen without it. */
function clearData(): void {
  epoch += 1;
  clearTimeout(diagTimer);
  data = EMPTY_DATA;
  findings = new Map();
  contactReads.clear();
  scheduleRender();
}

function askForToken(reason: string): void {
  closeSocket();
  clearTimeout(retryTimer);
  clearData();
  link = 'locked';
  $('token-reason').textContent = reason;
  $('token-panel').hidden = false;
  $('token-forget').hidden = true;
  const input = $<HTMLInputElement>('token-input');
  input.value = '';
  input.focus();
  scheduleRender();
}

function retryLater(): void {
  link = 'disconnected';
  const delay = backoff(attempts);
  attempts += 1;
  retryAt = Date.now() + delay;
  clearTimeout(retryTimer);
  // Re-check the API first: it tells a token change (401) from a daemon that is down.
  retryTimer = setTimeout(() => void start(), delay);
  scheduleRender();
}

function closeSocket(): void {
  const s = socket;
  socket = null;
  if (s) s.close(1000, 'board closed');
}

function connect(): void {
  closeSocket();
  link = 'connecting';
  const s = new WebSocket(wsUrl());
  socket = s;
  lastHeardAt = Date.now();
  probeSentAt = 0;
  s.onmessage = (ev: MessageEvent) => {
    if (socket !== s) return;
    lastHeardAt = Date.now();
    let msg: ServerMessage;
    try {
      msg = JSON.parse(String(ev.data)) as ServerMessage;
    } catch {
      return;
    }
    onMessage(msg);
  };
  s.onclose = (ev: CloseEvent) => {
    if (socket !== s) return;
    socket = null;
    if (ev.code === CLOSE_UNAUTHORIZED) askForToken(TOKEN_REFUSED);
    else retryLater();
  };
  scheduleRender();
}

/** The socket is open but nothing proves it still reaches the daemon: treat it as closed. */
function linkLost(s: WebSocket): void {
  if (socket !== s) return;
  closeSocket();
  retryLater();
}

/**
 * Every WATCHDOG_EVERY_MS: if the socket has been quiet for half a round, probe it and the API. The
 * socket must deliver a message (any) before the next round; the API must answer 2xx within
 * PROBE_TIMEOUT_MS (a 401 asks for the token). A busy socket is proof enough and costs nothing.
 */
function watchdog(): void {
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
  void probeApi(s);
}

async function probeApi(s: WebSocket): Promise<void> {
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

// ---- the /ws stream -------------------------------------------------------------------------------

function onMessage(m: ServerMessage): void {
  const next = applyMessage(data, m);
  const touched = contactsTouchedBy(m);
  if (touched) for (const newer of contactReads.values()) newer.add(touched);
  if (m.type === 'snapshot') {
    attempts = 0;
    link = 'live';
    data = next;
    for (const n of next.nodes.keys()) void readContacts(n);
  } else if (next === data) {
    // hello, subscribed, state.resynced (a snapshot follows), control.action: nothing to show.
    return;
  } else {
    data = next;
  }
  if (affectsDiagnostics(m)) refreshDiagnosticsSoon();
  scheduleRender();
}

/** The snapshot lists endpoints with a contact count only; their contacts come from the API. */
async function readContacts(node: string): Promise<void> {
  const mine = epoch;
  const newer = new Set<string>();
  contactReads.set(node, newer);
  try {
    const body = await api<ContactsResponse>('api/v1/nodes/' + encodeURIComponent(node) + '/contacts');
    if (epoch !== mine || contactReads.get(node) !== newer) return;
    data = applyContacts(data, node, body.contacts, newer);
    scheduleRender();
  } catch (err) {
    if (epoch !== mine) return;
    // Without them the rows show counts, and deltas fill them in; a 401 shows up everywhere else.
    if (err instanceof Unauthorized) askForToken(TOKEN_REFUSED);
  } finally {
    if (contactReads.get(node) === newer) contactReads.delete(node);
  }
}

// ---- diagnostics (REST) ---------------------------------------------------------------------------

function refreshDiagnosticsSoon(): void {
  clearTimeout(diagTimer);
  diagTimer = setTimeout(() => void refreshDiagnostics(), 250);
}

async function refreshDiagnostics(): Promise<void> {
  clearTimeout(diagTimer);
  diagTimer = setTimeout(() => void refreshDiagnostics(), DIAGNOSTICS_EVERY_MS);
  // Offline or locked: keep the last findings on screen rather than replace them with errors.
  if (link !== 'live') return;
  const mine = epoch;
  for (const name of [...data.nodes.keys()]) {
    try {
      const result = await api<DiagnosticsResponse>(
        'api/v1/nodes/' + encodeURIComponent(name) + '/diagnostics',
      );
      if (epoch !== mine) return;
      findings = new Map(findings).set(name, result);
    } catch (err) {
      if (epoch !== mine) return;
      if (err instanceof Unauthorized) {
        askForToken(TOKEN_REFUSED);
        return;
      }
      findings = new Map(findings).set(name, { error: err instanceof Error ? err.message : String(err) });
    }
  }
  scheduleRender();
}

// ---- rendering ------------------------------------------------------------------------------------

function replace(id: string, nodes: readonly VNode[]): void {
  $(id).replaceChildren(...nodes.map((n) => toDom(n, document)));
}

function renderEndpoints(): void {
  const filter = $<HTMLInputElement>('endpoint-filter').value;
  const show = $<HTMLSelectElement>('endpoint-show').value as EndpointShow;
  const { rows, registered, total } = endpointRows(data, filter, show);
  $('endpoints-count').textContent = registered + ' / ' + total + ' registered';
  replace('endpoints-body', rows);
}

const LINK_LABELS: Readonly<Record<LinkState, string>> = {
  live: 'live',
  connecting: 'connecting…',
  disconnected: 'disconnected',
  locked: 'token needed',
};

function renderHeader(): void {
  const pill = $('ws-status');
  pill.textContent = LINK_LABELS[link];
  pill.className = 'pill pill-' + link;
  pill.setAttribute('data-state', link);
  const banner = $('banner');
  if (link === 'disconnected') {
    const left = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    banner.textContent =
      'Disconnected from pbxpulse: the data below may be stale. Retrying in ' + left + ' s.';
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  $('board').classList.toggle('stale', link !== 'live');
  replace('summary', summary(data));
}

function render(): void {
  renderQueued = false;
  const now = Date.now();
  renderHeader();
  replace('nodes-body', nodeRows(data, link, now));
  replace('calls-body', callRows(data, now));
  $('calls-count').textContent = String(data.calls.size);
  replace('alerts-body', alertRows(data, now));
  $('alerts-count').textContent = String(data.alerts.size);
  const diag = findingRows(findings);
  replace('findings-body', diag.rows);
  $('findings-count').textContent = String(diag.count);
  renderEndpoints();
}

function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

function tick(): void {
  const now = Date.now();
  for (const e of document.querySelectorAll<HTMLElement>('[data-since]')) {
    e.textContent = sinceText(e.dataset.since ?? '', (e.dataset.mode as SinceMode | undefined) ?? 'ago', now);
  }
  if (link === 'disconnected') renderHeader();
}

// ---- wiring ---------------------------------------------------------------------------------------

function init(): void {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $<HTMLInputElement>('token-input').value.trim();
    if (!token) return;
    storeToken(token);
    $('token-panel').hidden = true;
    attempts = 0;
    link = 'connecting';
    void start();
  });
  $('token-forget').addEventListener('click', () => {
    storeToken('');
    closeSocket();
    // At once, not after the API's 401: nothing read with the token stays on screen meanwhile.
    clearData();
    void start();
  });
  $('endpoint-filter').addEventListener('input', renderEndpoints);
  $('endpoint-show').addEventListener('change', renderEndpoints);
  setInterval(tick, 1000);
  setInterval(watchdog, WATCHDOG_EVERY_MS);
  scheduleRender();
  void start();
}

init();
