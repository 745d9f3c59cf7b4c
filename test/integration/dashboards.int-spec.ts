/**
 * The Grafana dashboards of deploy/grafana/dashboards, proven against a real Prometheus scraping a
 * daemon that watches the sandbox Asterisk while real SIP traffic runs: a 401 loop, an AOR not found,
 * an unknown account, a registration, an answered Echo call, a one-way call and an RTP timeout.
 *
 * Every panel query, with its variables substituted the way Grafana would, goes through Prometheus's
 * query_range API (an instant target through /api/v1/query, as Grafana sends it) and must parse; the
 * panels covering a scenario (SCENARIOS) must have a series with a non-zero value; the template-variable
 * queries must list the node and its endpoints. Every pbxpulse_ metric a dashboard or an alert rule names
 * must be in the daemon's /metrics. The same Prometheus evaluates the alert rules on this traffic.
 *
 * The sandbox is shared: assertions are about series this traffic makes non-zero, never about "only".
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import {
  PROMTOOL,
  startPrometheus,
  type PrometheusServer,
  type PromSeries,
} from '../support/prometheus-server';
import { SANDBOX } from '../support/sandbox';
import { SipUdpClient } from '../support/sip/sip-udp-client';

jest.setTimeout(60_000);

const REPO = path.resolve(__dirname, '..', '..');
const DASHBOARD_DIR = path.join(REPO, 'deploy', 'grafana', 'dashboards');
const ALERT_RULES = path.join(REPO, 'deploy', 'prometheus', 'pbxpulse-alerts.yml');
const DATASOURCE_PROVISIONING = path.join(
  REPO,
  'deploy',
  'grafana',
  'provisioning',
  'datasources',
  'pbxpulse.yml',
);

const NODE = 'pbx1';
const ECHO = SANDBOX.extensions.echo;
const DESK = SANDBOX.endpoints.deskPhone; // 2001: 401 loop, qualify RTT, RTP timeout (rtp_timeout=5)
const AOR_MISMATCH = SANDBOX.endpoints.aorMismatch; // 1002: aors=1002-aor, REGISTER as 1002 gets 404
const PLAIN = SANDBOX.endpoints.plainPhone; // 2002: registered, answered Echo call with RTP, one-way call
/** The one-way-audio threshold of the daemon under test (the default, 15 s, would only slow the test). */
const ONE_WAY_MS = 3000;

type Dashboard = 'pbxpulse-overview' | 'pbxpulse-endpoint';

/** The part of Grafana's dashboard JSON model this test reads. */
interface GrafanaTarget {
  refId: string;
  expr: string;
  instant?: boolean;
  range?: boolean;
  datasource?: { type?: string; uid?: string };
}
interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  fieldConfig?: { defaults?: { unit?: string } };
  datasource?: { type?: string; uid?: string };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}
interface GrafanaVariable {
  name: string;
  type: string;
  query: unknown;
  definition?: string;
  multi?: boolean;
  includeAll?: boolean;
  current?: unknown;
}
interface GrafanaDashboard {
  id: null;
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
}

/**
 * Variable values as Grafana interpolates them into PromQL. The overview's `node` is multi-valued with
 * All: Grafana writes All as a regex alternation, so `(pbx1|pbx-absent)` proves its panels use `=~`.
 */
const VARIABLES: Record<Dashboard, Record<string, string>> = {
  'pbxpulse-overview': { node: `(${NODE}|pbx-absent)` },
  'pbxpulse-endpoint': { node: NODE, endpoint: DESK.name },
};

/** A series the panel must return with a non-zero value somewhere in the test window. */
interface Expectation {
  scenario: string;
  /** Labels the series must carry ({} = any series of the panel). */
  labels: Record<string, string>;
  /** Overrides of VARIABLES for this check (e.g. another endpoint). */
  vars?: Record<string, string>;
}

/** Panel title → what the generated traffic must make visible in it. */
const SCENARIOS: Record<Dashboard, Record<string, Expectation[]>> = {
  'pbxpulse-overview': {
    'AMI up': [{ scenario: 'daemon logged in to AMI', labels: { node: NODE } }],
    'ARI up': [{ scenario: 'daemon connected to ARI', labels: { node: NODE } }],
    'Registered endpoints': [{ scenario: 'REGISTER 2002', labels: { node: NODE } }],
    'Active calls': [{ scenario: 'Echo call 2002 → 600', labels: { node: NODE } }],
    'Active 401 loops': [{ scenario: '401 loop of 2001', labels: { node: NODE } }],
    'Diagnostic findings': [{ scenario: 'sandbox 1002 aors=1002-aor', labels: { severity: 'error' } }],
    'Registered endpoints over time': [{ scenario: 'REGISTER 2002', labels: { node: NODE } }],
    'Contacts by status': [
      { scenario: 'REGISTER 2002 (not qualified)', labels: { status: 'nonqualified' } },
      { scenario: 'REGISTER 2001 (qualified)', labels: { status: 'reachable' } },
    ],
    'Registration failures by reason': [
      { scenario: '401 loop of 2001', labels: { reason: 'auth_failed' } },
      { scenario: 'REGISTER 1002 → 404', labels: { reason: 'aor_not_found' } },
      { scenario: 'REGISTER of an unknown user', labels: { reason: 'unknown_account' } },
    ],
    '401 loops': [{ scenario: '401 loop of 2001', labels: { node: NODE, endpoint: DESK.name } }],
    'AOR not found': [
      { scenario: 'REGISTER 1002 → 404', labels: { node: NODE, endpoint: AOR_MISMATCH.name } },
    ],
    'Most refused endpoints': [
      { scenario: '401 loop of 2001', labels: { endpoint: DESK.name, reason: 'auth_failed' } },
      {
        scenario: 'REGISTER of an unknown user',
        labels: { endpoint: '<unknown>', reason: 'unknown_account' },
      },
    ],
    Calls: [{ scenario: 'Echo call and RTP-timeout call', labels: { node: NODE } }],
    'Hangups by classification': [
      { scenario: 'Echo call hung up by the phone', labels: { classification: 'normal' } },
      { scenario: 'silent call of 2001', labels: { classification: 'rtp_timeout' } },
    ],
    'RTP timeouts': [{ scenario: 'silent call of 2001', labels: { node: NODE, endpoint: DESK.name } }],
    'Channels by state': [{ scenario: 'answered calls', labels: { state: 'up' } }],
    'Call MOS': [{ scenario: 'Echo call 2002 → 600 with RTCP', labels: { node: NODE } }],
    'Call jitter': [{ scenario: 'Echo call 2002 → 600 with RTCP', labels: { node: NODE } }],
    'Call packet loss': [{ scenario: 'Echo call 2002 → 600 with RTCP', labels: { node: NODE } }],
    'One-way audio': [
      { scenario: 'silent 2002 on the tone extension', labels: { node: NODE, endpoint: PLAIN.name } },
    ],
    'Diagnostic findings by code': [
      { scenario: 'sandbox 1002 aors=1002-aor', labels: { node: NODE, code: 'AOR_NAME_MISMATCH' } },
    ],
    'AMI events': [{ scenario: 'AMI events of the traffic', labels: { node: NODE } }],
  },
  'pbxpulse-endpoint': {
    Registered: [{ scenario: 'REGISTER 2001', labels: {} }],
    '401 loop': [{ scenario: '401 loop of 2001', labels: {} }],
    'Contact RTT': [{ scenario: 'REGISTER 2001 (qualify_frequency=30)', labels: {} }],
    'Refusals in range': [
      { scenario: '401 loop of 2001', labels: {} },
      { scenario: 'REGISTER 1002 → 404', labels: {}, vars: { endpoint: AOR_MISMATCH.name } },
    ],
    'RTP timeouts in range': [{ scenario: 'silent call of 2001', labels: {} }],
    'Calls in range': [
      { scenario: 'silent call of 2001', labels: {} },
      { scenario: 'Echo call of 2002', labels: {}, vars: { endpoint: PLAIN.name } },
    ],
    'Registration history': [{ scenario: 'REGISTER 2001', labels: { endpoint: DESK.name } }],
    'Contact RTT history': [
      { scenario: 'REGISTER 2001 (qualify_frequency=30)', labels: { endpoint: DESK.name } },
    ],
    'Auth failures by reason': [
      { scenario: '401 loop of 2001', labels: { reason: 'auth_failed' } },
      {
        scenario: 'REGISTER 1002 → 404',
        labels: { reason: 'aor_not_found' },
        vars: { endpoint: AOR_MISMATCH.name },
      },
    ],
    '401 loop and AOR not found': [
      { scenario: '401 loop of 2001', labels: { endpoint: DESK.name } },
      {
        scenario: 'REGISTER 1002 → 404',
        labels: { endpoint: AOR_MISMATCH.name },
        vars: { endpoint: '1002' },
      },
    ],
    'RTP timeouts': [{ scenario: 'silent call of 2001', labels: { endpoint: DESK.name } }],
    Calls: [
      { scenario: 'silent call of 2001', labels: {} },
      { scenario: 'Echo call of 2002', labels: {}, vars: { endpoint: PLAIN.name } },
    ],
    'Node hangups by classification': [
      { scenario: 'silent call of 2001', labels: { classification: 'rtp_timeout' } },
    ],
  },
};

/** Panels this traffic cannot move (they only have to parse), with the reason. */
const PARSE_ONLY: Record<Dashboard, Record<string, string>> = {
  'pbxpulse-overview': {
    'AMI and ARI reconnects': 'nothing here drops a link',
    'State repairs': 'needs a lost AMI event',
    // Proven on the lab Asterisk by test/integration/trunks.int-spec.ts (these metrics, same labels).
    'Trunk registrations': 'the sandbox has no outbound registration (the lab trunk test has one)',
    'Trunk registration rejections': 'the sandbox has no outbound registration (the lab trunk test has one)',
  },
  'pbxpulse-endpoint': {},
};

function loadDashboards(): Array<{ file: string; dashboard: GrafanaDashboard }> {
  return fs
    .readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      file,
      dashboard: JSON.parse(fs.readFileSync(path.join(DASHBOARD_DIR, file), 'utf8')) as GrafanaDashboard,
    }));
}

/** Panels with queries, rows flattened (a collapsed row keeps its panels in `panels`). */
function queryPanels(d: GrafanaDashboard): GrafanaPanel[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

function variableQuery(v: GrafanaVariable): string {
  if (typeof v.query === 'string') return v.query;
  return (v.query as { query: string }).query;
}

/**
 * PromQL as Grafana sends it: `$x`, `${x}`, `${x:fmt}` and `[[x]]` replaced; built-ins sized for the
 * test window. An unknown variable fails the test instead of reaching Prometheus.
 */
function interpolate(expr: string, vars: Record<string, string>, rangeSeconds: number): string {
  const values: Record<string, string> = {
    // Grafana's $__rate_interval with the production 15 s scrape interval.
    __rate_interval: '1m',
    __interval: '1s',
    __interval_ms: '1000',
    __range: `${rangeSeconds}s`,
    __range_s: String(rangeSeconds),
    __range_ms: String(rangeSeconds * 1000),
    ...vars,
  };
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g,
    (m, a?: string, b?: string, c?: string) => {
      const name = (a ?? b ?? c)!;
      const value = values[name];
      if (value === undefined) throw new Error(`unknown variable ${m} in ${expr}`);
      return value;
    },
  );
}

/** `label_values(match, label)` or `label_values(label)` of a Prometheus template variable. */
function parseLabelValues(query: string): { match: string | undefined; label: string } {
  const m = /^\s*label_values\(\s*(?:(.+),\s*)?([a-zA-Z_]\w*)\s*\)\s*$/.exec(query);
  if (!m) throw new Error(`not a label_values() query: ${query}`);
  return { match: m[1]?.trim(), label: m[2] };
}

/** Every `pbxpulse_…` identifier of a PromQL expression. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bpbxpulse_[a-zA-Z0-9_]*/g)].map((m) => m[0]);
}

/** Every `expr` of a Prometheus rule file (groups[].rules[].expr). */
function ruleExprs(file: string): string[] {
  const doc = parseYaml(fs.readFileSync(file, 'utf8')) as {
    groups?: Array<{ rules?: Array<{ expr?: unknown }> }>;
  };
  return (doc.groups ?? []).flatMap((g) =>
    (g.rules ?? []).map((r) => r.expr).filter((e): e is string => typeof e === 'string'),
  );
}

function matches(series: PromSeries, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => series.metric[k] === v);
}

/** NaN is "no data" (histogram_quantile() over a window with no observation), as Grafana draws it. */
const maxValue = (s: PromSeries): number =>
  Math.max(...s.values.map(([, v]) => Number(v)).filter((v) => !Number.isNaN(v)));

describe('Grafana dashboards against a real Prometheus', () => {
  const dashboards = loadDashboards();
  let daemon: TestDaemon | undefined;
  let prom: PrometheusServer | undefined;
  const phones: SipUdpClient[] = [];
  let windowStart: Date;
  let windowEnd: Date;

  const open = async (): Promise<SipUdpClient> => {
    const phone = await SipUdpClient.open();
    phones.push(phone);
    return phone;
  };

  /** Polls until the instant query returns at least one sample (i.e. Prometheus has scraped it). */
  const promHas = (exprs: string[], timeoutMs = 10_000): Promise<void> =>
    expectEventually(
      async () => {
        for (const expr of exprs) {
          const res = await prom!.query(expr);
          if (res.status !== 'success') throw new Error(`${expr}: ${res.errorType}: ${res.error}`);
          const result = res.data?.result;
          if (!Array.isArray(result) || result.length === 0) throw new Error(`no sample yet: ${expr}`);
        }
      },
      timeoutMs,
      100,
    ).then(() => undefined);

  /** 5 wrong digests for 2001 (a 401 loop), then the right one (qualified contact), then a silent call. */
  const loopThenRtpTimeout = async (): Promise<void> => {
    const desk = await open();
    for (let i = 0; i < 5; i++) {
      expect((await desk.register({ user: DESK.name, password: 'not-the-password' })).status).toBe(401);
    }
    await promHas([`pbxpulse_auth_loop_active{node="${NODE}",endpoint="${DESK.name}"} == 1`]);
    expect((await desk.register({ user: DESK.name, password: DESK.password })).status).toBe(200);
    const silent = await open();
    const call = await silent.call(ECHO, { sendRtp: false, user: DESK.name, password: DESK.password });
    expect(call.state).toBe('answered');
    const [end] = await Promise.all([
      call.ended,
      promHas([`pbxpulse_contact_rtt_seconds{node="${NODE}",endpoint="${DESK.name}"} > 0`]),
    ]);
    expect(end).toMatchObject({ by: 'remote', reason: 'Q.850;cause=44' });
  };

  /** REGISTER 1002 (404), an unknown user (401), REGISTER 2002 and an Echo call with RTP. */
  const refusalsAndEcho = async (): Promise<void> => {
    const probe = await open();
    expect((await probe.register({ user: AOR_MISMATCH.name, password: AOR_MISMATCH.password })).status).toBe(
      404,
    );
    expect((await probe.register({ user: 'dashboard-nobody', password: 'guess' })).status).toBe(401);
    const plain = await open();
    expect((await plain.register({ user: PLAIN.name, password: PLAIN.password })).status).toBe(200);
    const call = await plain.call(ECHO, { sendRtp: true });
    expect(call.state).toBe('answered');
    await expectEventually(() => expect(call.rtpReceived).toBeGreaterThan(0), 3000);
    await promHas([`pbxpulse_calls_active{node="${NODE}"} > 0`, `pbxpulse_channels{state="up"} > 0`]);
    // Held until Asterisk's RTCP gave the call a MOS and a jitter (two reports, a second apart).
    await expectEventually(async () => {
      const { body } = await daemon!.get(`/api/v1/nodes/${NODE}/calls`);
      const mine = (body.calls as any[]).find((c) =>
        (c.channels as any[]).some((ch) => ch.endpoint === PLAIN.name && ch.exten === ECHO),
      );
      expect(mine?.quality).toMatchObject({ mos: expect.any(Number), jitterMs: expect.any(Number) });
    }, 8000);
    await call.hangup();
  };

  /** 2002 calls the tone extension (602) and sends no RTP: one-way audio once ONE_WAY_MS has passed. */
  const oneWayCall = async (): Promise<void> => {
    const silent = await open();
    const call = await silent.call(SANDBOX.extensions.tone, {
      sendRtp: false,
      user: PLAIN.name,
      password: PLAIN.password,
    });
    expect(call.state).toBe('answered');
    await expectEventually(async () => {
      const { body } = await daemon!.get(`/api/v1/alerts?node=${NODE}&type=one_way_audio`);
      expect((body.alerts as any[]).some((a) => a.endpoint === PLAIN.name)).toBe(true);
    }, ONE_WAY_MS + 6000);
    await call.hangup();
  };

  beforeAll(async () => {
    daemon = await startDaemon(sandboxNodeYaml(NODE), `detection: { oneWayAudioMs: ${ONE_WAY_MS} }`);
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 15_000);
    prom = await startPrometheus({ scrapeUrl: daemon.url, ruleFiles: [ALERT_RULES] });
    windowStart = new Date();
    // The per-node and bounded-label series are at 0 from the first scrape, before any traffic, so
    // increase() sees the first event; the per-endpoint counters of the default policy
    // (metrics.perEndpoint.mode active) have no series until their endpoint's first event.
    await promHas([
      `pbxpulse_registration_failures_total{node="${NODE}",endpoint="<unknown>",reason="unknown_account"} == 0`,
      `pbxpulse_node_registration_failures_total{node="${NODE}",reason="aor_not_found"} == 0`,
      `pbxpulse_node_aor_not_found_total{node="${NODE}"} == 0`,
      `pbxpulse_node_rtp_timeouts_total{node="${NODE}"} == 0`,
      `pbxpulse_node_auth_loops_total{node="${NODE}"} == 0`,
      `pbxpulse_node_auth_loops_active{node="${NODE}"} == 0`,
      `pbxpulse_state_repairs_total{node="${NODE}",kind="contact_ghost"} == 0`,
      `pbxpulse_endpoint_registered{node="${NODE}",endpoint="${PLAIN.name}"}`,
      `pbxpulse_diagnostic_findings{node="${NODE}"}`,
    ]);

    await Promise.all([loopThenRtpTimeout(), refusalsAndEcho(), oneWayCall()]);
    await promHas([
      `pbxpulse_rtp_timeouts_total{node="${NODE}",endpoint="${DESK.name}"} > 0`,
      `pbxpulse_call_hangups_total{node="${NODE}",classification="normal"} > 0`,
      `pbxpulse_call_hangups_total{node="${NODE}",classification="rtp_timeout"} > 0`,
      `pbxpulse_aor_not_found_total{node="${NODE}",endpoint="${AOR_MISMATCH.name}"} > 0`,
      `pbxpulse_registration_failures_total{node="${NODE}",endpoint="<unknown>",reason="unknown_account"} > 0`,
      `pbxpulse_endpoint_registered{node="${NODE}",endpoint="${PLAIN.name}"} == 1`,
      `pbxpulse_endpoint_calls_total{node="${NODE}",endpoint="${PLAIN.name}"} > 0`,
      `pbxpulse_endpoint_calls_total{node="${NODE}",endpoint="${DESK.name}"} > 0`,
      `pbxpulse_call_mos_count{node="${NODE}"} > 0`,
      `pbxpulse_one_way_audio_total{node="${NODE}",endpoint="${PLAIN.name}"} > 0`,
    ]);
    windowEnd = new Date(Date.now() + 1000);
  });

  afterAll(async () => {
    await Promise.allSettled(phones.splice(0).map((p) => p.close()));
    await prom?.stop();
    await daemon?.close();
  });

  it('are Grafana JSON models with a datasource variable, no node names, and panels mapped to scenarios', () => {
    const provisioned = (
      parseYaml(fs.readFileSync(DATASOURCE_PROVISIONING, 'utf8')) as {
        datasources: Array<{ name: string; uid: string }>;
      }
    ).datasources[0];
    expect(dashboards.map((d) => d.file)).toEqual(['pbxpulse-endpoint.json', 'pbxpulse-overview.json']);
    for (const { file, dashboard: d } of dashboards) {
      const uid = d.uid as Dashboard;
      expect({ file, uid }).toEqual({ file, uid: file.replace(/\.json$/, '') });
      expect(d.id).toBeNull();
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
      const text = JSON.stringify(d);
      expect(text).not.toMatch(/pbx1|sandbox|"1002"|"2001"|"2002"/);
      const vars = new Map(d.templating.list.map((v) => [v.name, v]));
      expect(vars.get('datasource')).toMatchObject({
        type: 'datasource',
        query: 'prometheus',
        current: { text: provisioned.name, value: provisioned.uid },
      });
      expect(variableQuery(vars.get('node')!)).toBe('label_values(pbxpulse_ami_up, node)');
      if (uid === 'pbxpulse-overview')
        expect(vars.get('node')).toMatchObject({ multi: true, includeAll: true });
      if (uid === 'pbxpulse-endpoint') {
        expect(variableQuery(vars.get('endpoint')!)).toBe(
          'label_values(pbxpulse_endpoint_registered{node="$node"}, endpoint)',
        );
      }

      const panels = queryPanels(d);
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
      const titles = panels.map((p) => p.title);
      expect(new Set(titles).size).toBe(titles.length);
      for (const p of [...d.panels, ...panels]) {
        expect(p.gridPos).toEqual({
          h: expect.any(Number),
          w: expect.any(Number),
          x: expect.any(Number),
          y: expect.any(Number),
        });
      }
      for (const p of panels) {
        expect({
          title: p.title,
          type: ['timeseries', 'stat', 'table', 'bargauge'].includes(p.type),
        }).toEqual({
          title: p.title,
          type: true,
        });
        expect(p.description).toEqual(expect.any(String));
        expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.targets?.length).toBeGreaterThan(0);
        const refIds = p.targets!.map((t) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
        for (const t of p.targets!) {
          expect(t).toMatchObject({ refId: expect.any(String), expr: expect.stringMatching(/pbxpulse_/) });
          expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
          // increase() over $__rate_interval (≥ 4 scrapes) at a shorter step counts each event several
          // times: rates are per minute (`rate(…) * 60`, unit cpm), event counts only over $__range.
          const where = { title: p.title, refId: t.refId, expr: t.expr };
          expect({
            ...where,
            increaseOverRateInterval: /increase\([^)]*\[\$__rate_interval\]/.test(t.expr),
          }).toEqual({ ...where, increaseOverRateInterval: false });
          // A "… in range" total is one value: Grafana must ask an instant query, not a range of them.
          if (t.expr.includes('[$__range]')) {
            expect({ ...where, instant: t.instant, range: t.range }).toEqual({
              ...where,
              instant: true,
              range: false,
            });
          }
          if (/\brate\(.*\) \* 60\b/.test(t.expr)) {
            expect({ ...where, description: p.description }).toEqual({
              ...where,
              description: expect.stringContaining('per minute'),
            });
          }
        }
      }
      // Every panel is either proven by a scenario or explicitly parse-only; the map names no ghost.
      const declared = [...Object.keys(SCENARIOS[uid]), ...Object.keys(PARSE_ONLY[uid])].sort();
      expect(declared).toEqual([...titles].sort());
    }
  });

  it('every panel query parses in Prometheus, and the scenario panels show the generated traffic', async () => {
    const rangeSeconds = Math.ceil((windowEnd.getTime() - windowStart.getTime()) / 1000);
    let queries = 0;
    let proven = 0;
    const failures: string[] = [];
    const run = async (
      d: Dashboard,
      p: GrafanaPanel,
      vars: Record<string, string>,
    ): Promise<PromSeries[]> => {
      const all: PromSeries[] = [];
      for (const t of p.targets!) {
        const expr = interpolate(t.expr, vars, rangeSeconds);
        queries += 1;
        if (t.instant === true && t.range === false) {
          // What Grafana sends for an instant target: /api/v1/query at the end of the time range.
          const res = await prom!.query(expr, windowEnd);
          if (res.status !== 'success') {
            failures.push(`${d} / ${p.title} / ${t.refId}: ${expr}: ${res.errorType}: ${res.error}`);
            continue;
          }
          all.push(...(res.data?.result ?? []).map((s) => ({ metric: s.metric, values: [s.value] })));
          continue;
        }
        const res = await prom!.queryRange(expr, windowStart, windowEnd, 1);
        if (res.status !== 'success') {
          failures.push(`${d} / ${p.title} / ${t.refId}: ${expr}: ${res.errorType}: ${res.error}`);
          continue;
        }
        all.push(...(res.data?.result ?? []));
      }
      return all;
    };

    for (const { dashboard } of dashboards) {
      const uid = dashboard.uid as Dashboard;
      for (const panel of queryPanels(dashboard)) {
        const baseVars = VARIABLES[uid];
        const series = await run(uid, panel, baseVars);
        for (const exp of SCENARIOS[uid][panel.title] ?? []) {
          const result = exp.vars ? await run(uid, panel, { ...baseVars, ...exp.vars }) : series;
          const hit = result.find((s) => matches(s, exp.labels) && maxValue(s) > 0);
          if (hit) proven += 1;
          else {
            failures.push(
              `${uid} / ${panel.title}: no non-zero series ${JSON.stringify(exp.labels)} for "${exp.scenario}"; ` +
                `got ${JSON.stringify(result.map((s) => ({ ...s.metric, max: maxValue(s) })))}`,
            );
          }
        }
      }
    }

    // Template variables: label_values(match, label) is what Grafana asks /api/v1/label/<label>/values.
    for (const { dashboard } of dashboards) {
      const uid = dashboard.uid as Dashboard;
      for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
        const { match, label } = parseLabelValues(variableQuery(v));
        const selector = interpolate(match!, { node: NODE }, rangeSeconds);
        const res = await prom!.labelValues(label, selector, windowStart, windowEnd);
        queries += 1;
        expect({ uid, variable: v.name, status: res.status }).toEqual({
          uid,
          variable: v.name,
          status: 'success',
        });
        const expected =
          v.name === 'node'
            ? [NODE]
            : [DESK.name, PLAIN.name, AOR_MISMATCH.name, SANDBOX.endpoints.webrtc.name];
        expect({ uid, variable: v.name, values: res.data }).toEqual({
          uid,
          variable: v.name,
          values: expect.arrayContaining(expected),
        });
        expect(res.data).not.toContain('<unknown>');
      }
    }

    const expectations = Object.values(SCENARIOS).flatMap((m) => Object.values(m).flat()).length;
    console.log(
      `dashboards: ${queries} Prometheus queries over a ${rangeSeconds} s window, ` +
        `${proven}/${expectations} scenario series non-zero`,
    );
    expect(failures).toEqual([]);
    expect(proven).toBe(expectations);
  });

  it('fires PbxpulseAorNotFound for the first 404 of 1002, whose series that 404 created (no base for increase())', async () => {
    await promHas(
      [
        `ALERTS{alertname="PbxpulseAorNotFound",node="${NODE}",endpoint="${AOR_MISMATCH.name}",alertstate="firing"}`,
      ],
      15_000,
    );
  });

  it('fires PbxpulseOneWayAudio for the one-way call of 2002 (its first detection)', async () => {
    await promHas(
      [`ALERTS{alertname="PbxpulseOneWayAudio",node="${NODE}",endpoint="${PLAIN.name}",alertstate="firing"}`],
      15_000,
    );
  });

  it('serves a /metrics that promtool check metrics finds clean, after the traffic', async () => {
    const text = (await daemon!.get('/metrics')).text;
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, output: '' });
    // HELP and TYPE once per family: prom-client's and the hand-written ones share one exposition.
    const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(types.length).toBeGreaterThan(20);
    expect(new Set(types).size).toBe(types.length);
  });

  it('every pbxpulse_ metric named by a dashboard or an alert rule is in /metrics', async () => {
    const exposed = new Set(
      [...(await daemon!.get('/metrics')).text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]),
    );
    const named = new Map<string, string>();
    for (const { file, dashboard } of dashboards) {
      for (const p of queryPanels(dashboard)) {
        for (const t of p.targets!) for (const n of metricNames(t.expr)) named.set(n, `${file}: ${p.title}`);
      }
      for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
        for (const n of metricNames(variableQuery(v))) named.set(n, `${file}: $${v.name}`);
      }
    }
    // Written alongside the dashboards; checked whenever it is there.
    if (fs.existsSync(ALERT_RULES)) {
      const exprs = ruleExprs(ALERT_RULES);
      expect(exprs.length).toBeGreaterThan(0);
      for (const e of exprs) for (const n of metricNames(e)) named.set(n, `pbxpulse-alerts.yml: ${e}`);
    }
    expect(named.size).toBeGreaterThan(10);
    // A histogram's TYPE line names the family; queries name its `_bucket`, `_count` and `_sum` series.
    const isExposed = (n: string) => exposed.has(n) || exposed.has(n.replace(/_(bucket|count|sum)$/, ''));
    // `pbxpulse_cluster_*` exist only on a daemon in cluster mode: cluster.int-spec checks those against
    // a cluster daemon's /metrics.
    const missing = [...named]
      .filter(([n]) => !n.startsWith('pbxpulse_cluster_') && !isExposed(n))
      .map(([n, where]) => `${n} (${where})`);
    expect(missing).toEqual([]);
  });
});
