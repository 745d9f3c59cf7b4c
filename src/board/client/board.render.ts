import { h, type VNode } from './board.dom';
import type {
  Alert,
  CallView,
  ContactView,
  DiagnosticsResponse,
  LinkView,
  SnapshotEndpoint,
} from './board.protocol';
import { type BoardData, key } from './board.state';

/**
 * Pure rendering: data in, `VNode` rows out (see board.dom.ts). `now` is passed in so the same data
 * renders the same text in a test.
 */

export type LinkState = 'connecting' | 'live' | 'disconnected' | 'locked';

/** What diagnostics of one node answered, or why they could not be read. */
export type FindingsOfNode = DiagnosticsResponse | { error: string };

// ---- words ----------------------------------------------------------------------------------------

/** "1 call", "2 calls", "0 calls". */
export function plural(n: number, one: string, many = one + 's'): string {
  return n + ' ' + (n === 1 ? one : many);
}

/** Asterisk device states (ast_devstate constants, as pbxpulse spells them) in words. */
const DEVICE_STATE_WORDS: Readonly<Record<string, string>> = {
  NOT_INUSE: 'idle',
  INUSE: 'in use',
  BUSY: 'busy',
  INVALID: 'invalid',
  UNAVAILABLE: 'unavailable',
  RINGING: 'ringing',
  RINGINUSE: 'ringing, in use',
  ONHOLD: 'on hold',
  UNKNOWN: 'unknown',
};

/** A state Asterisk adds later still reads as words rather than as a constant. */
export function deviceStateWords(raw: string): string {
  return Object.hasOwn(DEVICE_STATE_WORDS, raw)
    ? DEVICE_STATE_WORDS[raw]
    : raw.toLowerCase().replace(/_+/g, ' ').trim() || 'unknown';
}

const CONTACT_STATUS_WORDS: Readonly<Record<ContactView['status'], string>> = {
  reachable: 'reachable',
  unreachable: 'unreachable',
  nonqualified: 'not qualified',
  unknown: 'unknown',
};

/** Round-trip time from microseconds: "0.4 ms", "12 ms". */
export function rttText(usec: number): string {
  const ms = usec / 1000;
  return (ms < 10 ? ms.toFixed(1) : String(Math.round(ms))) + ' ms';
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + String(s % 60).padStart(2, '0') + ' s';
  const hours = Math.floor(m / 60);
  if (hours < 48) return hours + ' h ' + String(m % 60).padStart(2, '0') + ' min';
  return Math.floor(hours / 24) + ' d';
}

export type SinceMode = 'ago' | 'duration';

export function sinceText(iso: string, mode: SinceMode, now: number): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  return mode === 'duration' ? duration(now - t) : duration(now - t) + ' ago';
}

// ---- remedies -------------------------------------------------------------------------------------

export interface RemedyPart {
  kind: 'text' | 'snippet';
  text: string;
}

/** `[section]`, `key=value`, `load => x.so`, `;comment`, the `...` of an elided section. */
const CONFIG_LINE = /^(\[[^\]]+\]|[A-Za-z_][\w.-]*\s*=>?|;|\.\.\.$)/;

/**
 * Remedies are prose with configuration snippets on their own lines (detectors/aor-explanation.ts):
 * runs of configuration lines (blank lines inside a run kept) become snippets, the rest prose.
 */
export function remedyParts(remedy: string): RemedyPart[] {
  const parts: RemedyPart[] = [];
  let prose: string[] = [];
  let snippet: string[] = [];
  const flushProse = () => {
    const text = prose.join(' ').trim();
    if (text) parts.push({ kind: 'text', text });
    prose = [];
  };
  const flushSnippet = () => {
    while (snippet.length > 0 && snippet[snippet.length - 1].trim() === '') snippet.pop();
    if (snippet.length > 0) parts.push({ kind: 'snippet', text: snippet.join('\n') });
    snippet = [];
  };
  for (const line of remedy.split('\n')) {
    const inSnippet = snippet.length > 0;
    if (CONFIG_LINE.test(line.trim()) || (inSnippet && line.trim() === '')) {
      if (!inSnippet) flushProse();
      snippet.push(line);
    } else {
      if (inSnippet) flushSnippet();
      prose.push(line);
    }
  }
  flushSnippet();
  flushProse();
  return parts;
}

function remedy(label: string, text: string, testid: string): VNode {
  const parts = remedyParts(text);
  return h(
    'div',
    { class: 'remedy', 'data-testid': testid },
    h('b', null, label),
    ...parts.map((p) =>
      p.kind === 'snippet'
        ? h('pre', { class: 'snippet', 'data-testid': 'remedy-snippet' }, p.text)
        : h('span', null, p.text + ' '),
    ),
  );
}

// ---- cells ----------------------------------------------------------------------------------------

/** A live "N s ago" / "N s" text; the page refreshes every `[data-since]` each second. */
export function since(iso: string, now: number, mode: SinceMode = 'ago'): VNode {
  return h(
    'span',
    { class: 'since', 'data-since': iso, 'data-mode': mode, title: iso },
    sinceText(iso, mode, now),
  );
}

function badge(text: string, cls: string, testid?: string): VNode {
  return h('span', { class: 'badge ' + cls, 'data-testid': testid }, text);
}

function linkCell(link: LinkView | undefined, testid: string, now: number): VNode {
  const status = link?.status ?? 'unknown';
  return h('td', null, badge(status, 'st-' + status, testid), ' ', link ? since(link.since, now) : null);
}

function emptyRow(text: string, columns: number): VNode {
  return h('tr', { class: 'empty' }, h('td', { colspan: columns }, text));
}

// ---- tables ---------------------------------------------------------------------------------------

export function nodeRows(data: BoardData, link: LinkState, now: number): VNode[] {
  const rows = [...data.nodes.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n) => {
      const errors = [n.ami?.lastError, n.ari?.lastError].filter(Boolean).join(' · ');
      const resync = n.lastResync?.ami || n.lastResync?.ari;
      return h(
        'tr',
        { 'data-testid': 'node-row', 'data-node': n.name },
        h('td', { class: 'strong' }, n.name),
        linkCell(n.ami, 'node-ami', now),
        linkCell(n.ari, 'node-ari', now),
        h('td', { class: 'mono', 'data-testid': 'node-version' }, n.asterisk?.version || '—'),
        h('td', null, resync ? since(resync, now) : '—'),
        h('td', { class: errors ? 'err' : 'muted' }, errors || '—'),
      );
    });
  if (rows.length > 0) return rows;
  return [emptyRow(link === 'locked' ? 'Enter the token to see the nodes' : 'No node configured', 6)];
}

export function callParties(c: CallView): string {
  const ch = c.channels ?? [];
  const first = ch[0];
  const from = first?.endpoint || first?.callerNum || first?.name || '?';
  const callee = ch.find((x, i) => i > 0 && x.endpoint);
  const to = callee?.endpoint || first?.exten || first?.connectedNum || '?';
  return from + ' → ' + to;
}

/** MOS band of the board (the usual E-model bands: ≥ 4.0 good, ≥ 3.6 fair, below poor). */
export function mosBand(mos: number): 'good' | 'fair' | 'poor' {
  return mos >= 4 ? 'good' : mos >= 3.6 ? 'fair' : 'poor';
}

const fixed = (v: number | null, digits: number, unit: string): string | null =>
  v === null ? null : v.toFixed(digits) + unit;

/** The call's RTCP summary: a MOS badge, then jitter, loss and RTT; a dash before the first report. */
export function qualityCell(q: CallView['quality']): VNode {
  if (!q) return h('td', { class: 'muted', 'data-testid': 'call-quality' }, '–');
  const facts = [
    fixed(q.jitterMs, 1, ' ms jitter'),
    q.lossFraction === null ? null : fixed(q.lossFraction * 100, 1, ' % loss'),
    fixed(q.rttMs, 0, ' ms rtt'),
  ].filter((f) => f !== null);
  return h(
    'td',
    { 'data-testid': 'call-quality' },
    q.mos === null ? null : badge('MOS ' + q.mos.toFixed(1), 'q-' + mosBand(q.mos), 'call-mos'),
    h('div', { class: 'small muted' }, facts.join(' · ')),
  );
}

export function callRows(data: BoardData, now: number): VNode[] {
  const calls = [...data.calls.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  if (calls.length === 0) return [emptyRow('No active call', 6)];
  return calls.map((c) =>
    h(
      'tr',
      { 'data-testid': 'call-row', 'data-node': c.node, 'data-linkedid': c.linkedid },
      h('td', { class: 'nw' }, c.node),
      h(
        'td',
        null,
        h('span', { class: 'strong', 'data-testid': 'call-parties' }, callParties(c)),
        h('div', { class: 'mono small muted' }, c.linkedid),
      ),
      h('td', null, badge(c.state, 'call-' + c.state, 'call-state')),
      h('td', { class: 'num' }, since(c.answeredAt || c.startedAt, now, 'duration')),
      qualityCell(c.quality ?? null),
      h(
        'td',
        { class: 'mono small' },
        ...(c.channels ?? [])
          .filter((x) => !x.endedAt)
          .map((x) => h('div', null, x.name + ' ', h('span', { class: 'muted' }, x.state))),
      ),
    ),
  );
}

const ALERT_LABEL: Readonly<Record<string, string>> = {
  auth_loop: '401 loop',
  aor_not_found: 'AOR not found',
  diagnostic: 'diagnostic',
  one_way_audio: 'one-way audio',
  outbound_registration: 'trunk registration',
  trunk_unreachable: 'trunk unreachable',
};

export function alertRows(data: BoardData, now: number): VNode[] {
  const alerts = [...data.alerts.values()].sort((a, b) => a.since.localeCompare(b.since));
  if (alerts.length === 0) return [emptyRow('No active alert', 6)];
  return alerts.map((a: Alert) =>
    h(
      'tr',
      {
        'data-testid': 'alert-row',
        'data-alert-id': a.id,
        'data-alert-type': a.type,
        'data-endpoint': a.endpoint,
      },
      h('td', null, badge(ALERT_LABEL[a.type] ?? a.type, 'al-' + a.type, 'alert-type')),
      h('td', { class: 'nw' }, a.node),
      h('td', { class: 'strong nw' }, a.endpoint),
      h('td', null, since(a.since, now)),
      h('td', { class: 'num' }, a.count),
      h(
        'td',
        { class: 'wide' },
        h('div', { 'data-testid': 'alert-message' }, a.message),
        remedy('Fix: ', a.remedy, 'alert-remedy'),
      ),
    ),
  );
}

const SEVERITY_RANK: Readonly<Record<string, number>> = { error: 0, warning: 1, info: 2 };

export function findingRows(findings: ReadonlyMap<string, FindingsOfNode>): { rows: VNode[]; count: number } {
  const rows: VNode[] = [];
  let count = 0;
  for (const node of [...findings.keys()].sort()) {
    const result = findings.get(node)!;
    if ('error' in result) {
      rows.push(
        h(
          'tr',
          { class: 'muted' },
          h('td'),
          h('td', null, node),
          h('td', { colspan: 3 }, 'diagnostics unavailable: ' + result.error),
        ),
      );
      continue;
    }
    const sorted = [...(result.findings ?? [])].sort(
      (a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9),
    );
    count += sorted.length;
    for (const f of sorted) {
      rows.push(
        h(
          'tr',
          {
            'data-testid': 'finding-row',
            'data-node': node,
            'data-code': f.code,
            'data-object': f.object?.name ?? '',
          },
          h('td', null, badge(f.severity, 'sev-' + f.severity, 'finding-severity')),
          h('td', { class: 'nw' }, node),
          h('td', { class: 'mono strong nw' }, f.code),
          h('td', { class: 'mono' }, f.object ? f.object.type + ' ' + f.object.name : ''),
          h(
            'td',
            { class: 'wide' },
            h('div', { 'data-testid': 'finding-message' }, f.message),
            remedy('Remedy: ', f.remedy, 'finding-remedy'),
          ),
        ),
      );
    }
  }
  if (rows.length === 0) {
    rows.push(emptyRow(findings.size ? 'No finding: the configuration looks right' : 'Not diagnosed yet', 5));
  }
  return { rows, count };
}

export type EndpointShow = 'all' | 'registered' | 'unregistered';

function contactLine(c: ContactView): VNode {
  const words = CONTACT_STATUS_WORDS[c.status] ?? c.status;
  const title = [c.uri, c.userAgent].filter(Boolean).join(' · ');
  return h(
    'div',
    { class: 'small nw ct-' + c.status, 'data-testid': 'endpoint-contact', 'data-status': c.status, title },
    words,
    c.rttUsec !== null && c.rttUsec !== undefined
      ? h('span', { class: 'muted' }, ' · ' + rttText(c.rttUsec))
      : null,
  );
}

export function endpointRows(
  data: BoardData,
  filter: string,
  show: EndpointShow,
): { rows: VNode[]; registered: number; total: number } {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const all = [...data.endpoints.values()].sort(
    (a, b) => a.node.localeCompare(b.node) || a.name.localeCompare(b.name, undefined, { numeric: true }),
  );
  const registered = all.filter((e) => e.registered).length;
  const shown = all.filter((e: SnapshotEndpoint) => {
    if (show === 'registered' && !e.registered) return false;
    if (show === 'unregistered' && e.registered) return false;
    const hay = [
      e.node,
      e.name,
      e.deviceState,
      deviceStateWords(e.deviceState),
      e.transport,
      e.context,
      (e.aors ?? []).join(' '),
      e.registered ? 'registered' : 'unregistered',
    ]
      .join(' ')
      .toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  const rows = shown.map((e) => {
    const contacts = data.contacts.get(key(e.node, e.name));
    return h(
      'tr',
      {
        'data-testid': 'endpoint-row',
        'data-node': e.node,
        'data-endpoint': e.name,
        'data-registered': String(e.registered),
      },
      h('td', { class: 'nw' }, e.node),
      h('td', { class: 'strong nw' }, e.name),
      h(
        'td',
        null,
        badge(
          e.registered ? 'registered' : 'unregistered',
          e.registered ? 'st-up' : 'st-off',
          'endpoint-registered',
        ),
      ),
      h(
        'td',
        { 'data-testid': 'endpoint-contacts' },
        h('span', { class: 'strong', 'data-testid': 'endpoint-contact-count' }, e.contacts),
        ...(contacts ?? []).map(contactLine),
      ),
      h(
        'td',
        { class: 'small nw' },
        h(
          'div',
          {
            class: 'tip dev-' + e.deviceState.toLowerCase(),
            'data-testid': 'endpoint-device',
            'data-state': e.deviceState,
            title: e.deviceState,
          },
          deviceStateWords(e.deviceState),
        ),
        h('div', { class: 'mono muted' }, e.transport || ''),
      ),
    );
  });
  if (rows.length === 0)
    rows.push(emptyRow(all.length ? 'No endpoint matches the filter' : 'No endpoint known yet', 5));
  return { rows, registered, total: all.length };
}

export function summary(data: BoardData): VNode[] {
  const nodes = [...data.nodes.values()];
  const up = nodes.filter((n) => n.ami?.status === 'up' && n.ari?.status === 'up').length;
  return [
    h('span', { class: up === nodes.length ? 'ok' : 'err' }, up + '/' + plural(nodes.length, 'node') + ' up'),
    h('span', null, plural(data.calls.size, 'call')),
    h('span', { class: data.alerts.size ? 'warn' : 'ok' }, plural(data.alerts.size, 'alert')),
  ];
}
