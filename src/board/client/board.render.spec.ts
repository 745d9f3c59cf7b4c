import type { Alert, CallView, ContactView, EndpointView } from './board.protocol';
import {
  alertRows,
  callRows,
  deviceStateWords,
  endpointRows,
  findingRows,
  plural,
  remedyParts,
  rttText,
  summary,
} from './board.render';
import { type BoardData, EMPTY_DATA, key } from './board.state';
import { byTestId, textOf } from './testing/vnode';

const NOW = Date.parse('2026-01-01T10:00:00.000Z');
const TS = '2026-01-01T09:59:00.000Z';

/** The remedy of an AOR named unlike the SIP user, as detectors/aor-explanation.ts writes it. */
const AOR_REMEDY =
  'Rename the AOR section [1002-aor] to [1002] (an AOR may share its name with the endpoint) and set ' +
  'aors=1002 on [1002] type=endpoint:\n[1002]\ntype=endpoint\naors=1002\n...\n\n[1002]\ntype=aor\n' +
  'max_contacts=1\nthen reload PJSIP (pjsip reload). Alternatively keep [1002-aor] and make the device ' +
  'register with To-header user 1002-aor.';

function endpoint(name: string, over: Partial<EndpointView> = {}): EndpointView & { node: string } {
  return {
    node: 'pbx1',
    name,
    aors: [name],
    auths: [],
    authUsernames: [],
    transport: 'transport-udp',
    context: 'internal',
    deviceState: 'NOT_INUSE',
    reachable: true,
    registered: true,
    contacts: 1,
    ...over,
  };
}

function contact(endpointName: string, over: Partial<ContactView> = {}): ContactView {
  return {
    aor: endpointName,
    endpoint: endpointName,
    uri: `sip:${endpointName}@192.0.2.10:5060`,
    status: 'reachable',
    rttUsec: 12_400,
    userAgent: 'Phone/1.0',
    expiresAt: null,
    viaAddress: null,
    transport: 'udp',
    callId: null,
    ...over,
  };
}

function withEndpoints(
  list: Array<EndpointView & { node: string }>,
  contacts: ContactView[] = [],
): BoardData {
  const byKey = new Map<string, ContactView[]>();
  for (const c of contacts)
    byKey.set(key('pbx1', c.endpoint), [...(byKey.get(key('pbx1', c.endpoint)) ?? []), c]);
  return { ...EMPTY_DATA, endpoints: new Map(list.map((e) => [key(e.node, e.name), e])), contacts: byKey };
}

function call(linkedid: string): CallView {
  return {
    linkedid,
    node: 'pbx1',
    startedAt: TS,
    answeredAt: null,
    state: 'up',
    channels: [],
    quality: null,
  };
}

describe('call quality on the board', () => {
  const rows = (quality: CallView['quality']) =>
    callRows({ ...EMPTY_DATA, calls: new Map([['a', { ...call('a'), quality }]]) }, Date.parse(TS));

  it('shows the MOS as a coloured band with jitter, loss and RTT', () => {
    const [cell] = byTestId(
      rows({ mos: 4.39, jitterMs: 9.05, lossFraction: 0.004, rttMs: 18.1 }),
      'call-quality',
    );
    expect(textOf(cell)).toBe('MOS 4.49.1 ms jitter · 0.4 % loss · 18 ms rtt');
    expect(byTestId(cell, 'call-mos')[0].attrs.class).toBe('badge q-good');
    const [poor] = byTestId(rows({ mos: 3.1, jitterMs: null, lossFraction: 0.08, rttMs: null }), 'call-mos');
    expect(poor.attrs.class).toBe('badge q-poor');
  });

  it('shows a dash before the first RTCP report', () => {
    expect(textOf(byTestId(rows(null), 'call-quality')[0])).toBe('–');
  });

  it('labels one-way-audio alerts', () => {
    const [row] = alertRows(
      { ...EMPTY_DATA, alerts: new Map([['x', alert({ type: 'one_way_audio', id: 'x' })]]) },
      Date.parse(TS),
    );
    expect(textOf(byTestId(row, 'alert-type')[0])).toBe('one-way audio');
  });
});

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: 'aor_not_found:pbx1:1002',
    type: 'aor_not_found',
    node: 'pbx1',
    endpoint: '1002',
    since: TS,
    lastSeen: TS,
    count: 1,
    message: 'REGISTER for 1002 authenticated, but …',
    remedy: AOR_REMEDY,
    details: {},
    ...over,
  };
}

describe('counts read as English', () => {
  it.each([
    [0, '0 calls'],
    [1, '1 call'],
    [2, '2 calls'],
  ])('%i → %s', (n, text) => expect(plural(n, 'call')).toBe(text));

  it('the summary says "1 call" and "1 alert", and "2 calls"', () => {
    const one: BoardData = {
      ...EMPTY_DATA,
      calls: new Map([['a', call('a')]]),
      alerts: new Map([['x', alert()]]),
    };
    expect(summary(one).map(textOf)).toEqual(['0/0 nodes up', '1 call', '1 alert']);
    const two: BoardData = {
      ...one,
      calls: new Map([
        ['a', call('a')],
        ['b', call('b')],
      ]),
    };
    expect(summary(two).map(textOf)).toContain('2 calls');
  });
});

describe('device states in words', () => {
  it.each([
    ['NOT_INUSE', 'idle'],
    ['INUSE', 'in use'],
    ['UNAVAILABLE', 'unavailable'],
    ['RINGING', 'ringing'],
    ['RINGINUSE', 'ringing, in use'],
    ['ONHOLD', 'on hold'],
    ['BUSY', 'busy'],
    ['INVALID', 'invalid'],
    ['UNKNOWN', 'unknown'],
    ['SOMETHING_NEW', 'something new'],
  ])('%s → %s', (raw, words) => expect(deviceStateWords(raw)).toBe(words));

  it('the endpoint row shows the words, with the raw Asterisk name as its tooltip', () => {
    const { rows } = endpointRows(withEndpoints([endpoint('2002', { deviceState: 'INUSE' })]), '', 'all');
    const [device] = byTestId(rows, 'endpoint-device');
    expect(textOf(device)).toBe('in use');
    expect(device.attrs.title).toBe('INUSE');
    expect(device.attrs['data-state']).toBe('INUSE');
  });

  it('the filter finds an endpoint by the words and by the raw name', () => {
    const data = withEndpoints([
      endpoint('2001', { deviceState: 'NOT_INUSE' }),
      endpoint('2002', { deviceState: 'ONHOLD' }),
    ]);
    const names = (filter: string) =>
      byTestId(endpointRows(data, filter, 'all').rows, 'endpoint-row').map((r) => r.attrs['data-endpoint']);
    expect(names('idle')).toEqual(['2001']);
    expect(names('on hold')).toEqual(['2002']);
    expect(names('not_inuse')).toEqual(['2001']);
  });
});

describe('contacts on the endpoint row', () => {
  it('lists each contact with its status and round-trip time, the URI and user agent as tooltip', () => {
    const data = withEndpoints(
      [endpoint('2002', { contacts: 2 })],
      [
        contact('2002'),
        contact('2002', { uri: 'sip:2002@198.51.100.7', status: 'unreachable', rttUsec: null }),
      ],
    );
    const lines = byTestId(endpointRows(data, '', 'all').rows, 'endpoint-contact');
    expect(lines.map(textOf)).toEqual(['reachable · 12 ms', 'unreachable']);
    expect(lines.map((l) => l.attrs['data-status'])).toEqual(['reachable', 'unreachable']);
    expect(lines[0].attrs.title).toBe('sip:2002@192.0.2.10:5060 · Phone/1.0');
  });

  it('shows the count alone while the contacts are not known yet', () => {
    const { rows } = endpointRows(withEndpoints([endpoint('2002', { contacts: 1 })]), '', 'all');
    expect(byTestId(rows, 'endpoint-contact')).toEqual([]);
    expect(byTestId(rows, 'endpoint-contact-count').map(textOf)).toEqual(['1']);
  });

  it.each([
    [400, '0.4 ms'],
    [9_949, '9.9 ms'],
    [12_400, '12 ms'],
  ])('RTT %i µs → %s', (usec, text) => expect(rttText(usec)).toBe(text));
});

describe('remedies: configuration snippets keep their lines', () => {
  it('splits prose from the pjsip.conf snippet, blank line inside the snippet kept', () => {
    expect(remedyParts(AOR_REMEDY)).toEqual([
      {
        kind: 'text',
        text:
          'Rename the AOR section [1002-aor] to [1002] (an AOR may share its name with the endpoint) and ' +
          'set aors=1002 on [1002] type=endpoint:',
      },
      { kind: 'snippet', text: '[1002]\ntype=endpoint\naors=1002\n...\n\n[1002]\ntype=aor\nmax_contacts=1' },
      {
        kind: 'text',
        text:
          'then reload PJSIP (pjsip reload). Alternatively keep [1002-aor] and make the device register ' +
          'with To-header user 1002-aor.',
      },
    ]);
  });

  it('a one-line remedy stays one line of prose, even when it names files and options', () => {
    const text = "pjsip.conf: in [2002] set direct_media=no; then 'pjsip reload'";
    expect(remedyParts(text)).toEqual([{ kind: 'text', text }]);
    expect(remedyParts('modules.conf: load => res_srtp.so; then restart Asterisk')).toHaveLength(1);
  });

  it('an alert renders the snippet as a <pre> and keeps the whole remedy in its text', () => {
    const [remedy] = byTestId(
      alertRows({ ...EMPTY_DATA, alerts: new Map([['a', alert()]]) }, NOW),
      'alert-remedy',
    );
    const pre = byTestId(remedy, 'remedy-snippet');
    expect(pre.map((p) => p.tag)).toEqual(['pre']);
    expect(textOf(pre[0])).toContain('[1002]\ntype=aor\nmax_contacts=1');
    expect(textOf(remedy)).toContain('Rename the AOR section [1002-aor] to [1002]');
    expect(textOf(remedy).startsWith('Fix: ')).toBe(true);
  });

  it('a finding renders its snippet the same way', () => {
    const findings = new Map([
      [
        'pbx1',
        {
          findings: [
            {
              code: 'AOR_NAME_MISMATCH',
              severity: 'error' as const,
              object: { type: 'endpoint', name: '1002' },
              message: 'm',
              remedy: 'Add the AOR section:\n[1002]\ntype=aor',
            },
          ],
        },
      ],
    ]);
    const { rows, count } = findingRows(findings);
    expect(count).toBe(1);
    const [remedy] = byTestId(rows, 'finding-remedy');
    expect(byTestId(remedy, 'remedy-snippet').map(textOf)).toEqual(['[1002]\ntype=aor']);
  });
});

describe('daemon text stays text', () => {
  it('markup in a name is a string child, never parsed (board.dom.ts makes it a text node)', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const { rows } = endpointRows(withEndpoints([endpoint(evil)]), '', 'all');
    const [r] = byTestId(rows, 'endpoint-row');
    expect(r.attrs['data-endpoint']).toBe(evil);
    expect(r.children.some((td) => typeof td !== 'string' && td.children.includes(evil))).toBe(true);
  });
});
