import { Logger } from '@nestjs/common';
import { AmiConnection, type AmiConnectionOptions } from '../../src/ami/ami.connection';
import { AmiActionError, AmiActionTimeoutError, AmiConnectionClosedError } from '../../src/ami/ami.errors';
import type { AmiMessage } from '../../src/ami/ami.message';
import { FakeAmiServer } from '../support/fake-ami-server';
import { expectEventually } from '../support/expect-eventually';

function options(port: number, over: Partial<AmiConnectionOptions> = {}): AmiConnectionOptions {
  return {
    node: 'test',
    host: '127.0.0.1',
    port,
    username: 'ops',
    secret: 'right-secret',
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 100,
    actionTimeoutMs: 300,
    connectTimeoutMs: 500,
    keepaliveIntervalMs: 60_000,
    maxFrameBytes: 4096,
    ...over,
  };
}

describe('AmiConnection against a fake AMI server', () => {
  let server: FakeAmiServer;
  let conn: AmiConnection | undefined;

  beforeEach(async () => {
    server = new FakeAmiServer();
    await server.listen();
  });

  afterEach(async () => {
    await conn?.stop();
    conn = undefined;
    await server.close();
  });

  it('logs in, reports up, answers actions and delivers events; resync hook runs per login', async () => {
    conn = new AmiConnection(options(server.port));
    const events: AmiMessage[] = [];
    let connected = 0;
    conn.onEvent = (m) => events.push(m);
    conn.onConnected = () => {
      connected += 1;
    };
    conn.start();
    expect(conn.status.value.status).toBe('connecting');
    await expectEventually(() => expect(conn!.status.value.status).toBe('up'));
    expect(connected).toBe(1);
    expect(conn.amiVersion).toBe('11.0.0');
    const pong = await conn.action('Ping');
    expect(pong.fields.Ping).toBe('Pong');
    await expectEventually(() => expect(events.map((e) => e.fields.Event)).toContain('FullyBooted'));
    const login = server.actions('Login')[0].fields;
    expect(login).toMatchObject({ Username: 'ops', Secret: 'right-secret', Events: 'on' });
  });

  it('rejects Response: Error with a typed error carrying Asterisk’s message', async () => {
    conn = new AmiConnection(options(server.port));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    await expect(conn.action('NoSuchThing')).rejects.toThrow(AmiActionError);
    await expect(conn.action('NoSuchThing')).rejects.toThrow('Invalid/unknown command: NoSuchThing.');
  });

  it('times out an unanswered action with a typed error, and the link stays up', async () => {
    server.ignore.add('CoreStatus');
    conn = new AmiConnection(options(server.port, { actionTimeoutMs: 100 }));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    const err = await conn.action('CoreStatus').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmiActionTimeoutError);
    expect((err as AmiActionTimeoutError).code).toBe('AMI_TIMEOUT');
    expect(conn.isUp).toBe(true);
    await expect(conn.action('Ping')).resolves.toBeDefined();
  });

  it('delivers events that carry a Response header (ChallengeResponseFailed) as events', async () => {
    conn = new AmiConnection(options(server.port));
    const events: AmiMessage[] = [];
    conn.onEvent = (m) => events.push(m);
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    server.broadcast(
      'Event: ChallengeResponseFailed\r\nPrivilege: security,all\r\nAccountID: 2001\r\n' +
        'Challenge: 1700000000/abc\r\nResponse: ffc167de33082dadd87a6479d9795c3f\r\nExpectedResponse: \r\n\r\n',
    );
    await expectEventually(() =>
      expect(events.find((e) => e.fields.Event === 'ChallengeResponseFailed')?.fields.Response).toBe(
        'ffc167de33082dadd87a6479d9795c3f',
      ),
    );
  });

  it('collects list items until EventList: Complete, interleaved with async events', async () => {
    server.handlers.set('PJSIPShowContacts', ({ fields, socket }) => {
      const id = fields.ActionID;
      socket.write(
        `Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: A listing of Contacts follows\r\n\r\n`,
      );
      socket.write(`Event: ContactList\r\nActionID: ${id}\r\nObjectName: 1001;@abc\r\n\r\n`);
      socket.write(
        'Event: PeerStatus\r\nPrivilege: system,all\r\nPeer: PJSIP/2001\r\nPeerStatus: Reachable\r\n\r\n',
      );
      socket.write(`Event: ContactList\r\nActionID: ${id}\r\nObjectName: 2001;@def\r\n\r\n`);
      socket.write(
        `Event: ContactListComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n`,
      );
    });
    conn = new AmiConnection(options(server.port));
    const events: string[] = [];
    conn.onEvent = (m) => events.push(m.fields.Event);
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    const list = await conn.listAction('PJSIPShowContacts');
    expect(list.items.map((i) => i.fields.ObjectName)).toEqual(['1001;@abc', '2001;@def']);
    expect(list.complete?.fields.ListItems).toBe('2');
    expect(events).toContain('PeerStatus');
    expect(events).not.toContain('ContactList');
  });

  it('builds list items into what the caller keeps as they arrive; a failing mapping fails only its action', async () => {
    server.handlers.set('PJSIPShowContacts', ({ fields, socket }) => {
      const id = fields.ActionID;
      socket.write(`Response: Success\r\nActionID: ${id}\r\nEventList: start\r\n\r\n`);
      for (const name of ['1001;@abc', 'skip-me', '2001;@def'])
        socket.write(`Event: ContactList\r\nActionID: ${id}\r\nObjectName: ${name}\r\n\r\n`);
      socket.write(`Event: ContactListComplete\r\nActionID: ${id}\r\nEventList: Complete\r\n\r\n`);
    });
    conn = new AmiConnection(options(server.port));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    const seen: string[] = [];
    const list = await conn.listAction(
      'PJSIPShowContacts',
      {},
      {
        item: (m) => {
          seen.push(m.fields.ObjectName);
          return m.fields.ObjectName === 'skip-me' ? undefined : { aor: m.fields.ObjectName.split(';')[0] };
        },
      },
    );
    expect(list.items).toEqual([{ aor: '1001' }, { aor: '2001' }]);
    expect(seen).toEqual(['1001;@abc', 'skip-me', '2001;@def']);

    const failing = conn.listAction(
      'PJSIPShowContacts',
      {},
      {
        item: () => {
          throw new Error('mapping failed');
        },
      },
    );
    await expect(failing).rejects.toThrow('mapping failed');
    // The socket's read loop went on: the link is up and the next action is answered.
    expect(conn.isUp).toBe(true);
    await expect(conn.listAction('PJSIPShowContacts')).resolves.toMatchObject({ items: expect.any(Array) });
  });
  it('turns Response: Error into an empty list when asked (PJSIP lists answer Error when empty)', async () => {
    server.handlers.set(
      'PJSIPShowContacts',
      ({ fields }) => `Response: Error\r\nActionID: ${fields.ActionID}\r\nMessage: No Contacts found\r\n\r\n`,
    );
    conn = new AmiConnection(options(server.port));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    await expect(conn.listAction('PJSIPShowContacts', {}, { errorMeansEmpty: true })).resolves.toMatchObject({
      items: [],
    });
    await expect(conn.listAction('PJSIPShowContacts')).rejects.toThrow('No Contacts found');
  });

  it('keeps the items that arrived before a list action failed (PJSIPShowEndpoint with a missing transport)', async () => {
    server.handlers.set('PJSIPShowEndpoint', ({ fields, socket }) => {
      const id = fields.ActionID;
      socket.write(
        `Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: Following are Events for each object associated with the Endpoint\r\n\r\n`,
      );
      socket.write(
        `Event: EndpointDetail\r\nActionID: ${id}\r\nObjectName: 3007\r\nTransport: transport-nope\r\n\r\n`,
      );
      socket.write(
        `Response: Error\r\nActionID: ${id}\r\nMessage: Unable to retrieve transport transport-nope\r\n\r\n`,
      );
    });
    conn = new AmiConnection(options(server.port));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    const err = await conn.listAction('PJSIPShowEndpoint', { Endpoint: '3007' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AmiActionError);
    expect((err as AmiActionError).asteriskMessage).toBe('Unable to retrieve transport transport-nope');
    expect((err as AmiActionError).partialItems.map((m) => m.fields.Transport)).toEqual(['transport-nope']);
  });

  it('reports a refused login with the reason, without the secret, and keeps retrying with backoff', async () => {
    conn = new AmiConnection(options(server.port, { secret: 'wrong-secret-value' }));
    conn.start();
    await expectEventually(() => expect(server.actions('Login').length).toBeGreaterThanOrEqual(3));
    const state = conn.status.value;
    expect(state.status).toBe('down');
    expect(state.lastError).toContain("AMI login refused for user 'ops'");
    expect(state.lastError).not.toContain('wrong-secret-value');
    expect(conn.stats.reconnects).toBeGreaterThanOrEqual(2);
    server.secret = 'wrong-secret-value';
    await expectEventually(() => expect(conn!.isUp).toBe(true));
  });

  it('logs a refused login once, not once per retry (no log flood)', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      conn = new AmiConnection(options(server.port, { secret: 'wrong', reconnectMaxDelayMs: 20 }));
      conn.start();
      await expectEventually(() => expect(server.actions('Login').length).toBeGreaterThanOrEqual(15));
      const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('login refused'));
      expect(lines).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('times out an action with fake timers, exactly at the configured timeout', async () => {
    server.ignore.add('CoreStatus');
    conn = new AmiConnection(options(server.port, { actionTimeoutMs: 10_000 }));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      let settled: unknown;
      const pending = conn.action('CoreStatus').catch((e: unknown) => (settled = e));
      await jest.advanceTimersByTimeAsync(9_999);
      expect(settled).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1);
      await pending;
      expect(settled).toBeInstanceOf(AmiActionTimeoutError);
      expect((settled as Error).message).toBe('AMI action CoreStatus got no response within 10000 ms');
    } finally {
      jest.useRealTimers();
    }
  });

  it('on a dropped connection: pending actions reject, status goes down, then reconnects and resyncs', async () => {
    server.ignore.add('CoreShowChannels');
    conn = new AmiConnection(options(server.port, { actionTimeoutMs: 5000 }));
    let connected = 0;
    conn.onConnected = () => {
      connected += 1;
    };
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    const pending = conn.listAction('CoreShowChannels').catch((e: unknown) => e);
    await expectEventually(() => expect(server.actions('CoreShowChannels')).toHaveLength(1));
    const statuses: string[] = [];
    const sub = conn.status.changes.subscribe((s) => statuses.push(s.status));
    server.dropAll();
    expect(await pending).toBeInstanceOf(AmiConnectionClosedError);
    await expectEventually(() => expect(connected).toBe(2));
    sub.unsubscribe();
    expect(statuses).toEqual(['up', 'down', 'up']);
    expect(conn.stats.reconnects).toBe(1);
  });

  it('keeps retrying while nothing listens, then connects when the server comes back', async () => {
    const port = server.port;
    await server.close();
    conn = new AmiConnection(options(port));
    conn.start();
    await expectEventually(() => expect(conn!.stats.reconnects).toBeGreaterThanOrEqual(2));
    expect(conn.status.value.status).toBe('down');
    expect(conn.status.value.lastError).toBe(`connection refused (127.0.0.1:${port})`);
    await server.listen(port);
    await expectEventually(() => expect(conn!.isUp).toBe(true), 3000);
  });

  it('counts and skips malformed and oversized frames without losing the link or later events', async () => {
    conn = new AmiConnection(options(server.port, { maxFrameBytes: 256 }));
    const events: string[] = [];
    conn.onEvent = (m) => events.push(m.fields.Event);
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    server.broadcast('Event: Broken\r\nno colon here\r\n\r\n');
    server.broadcast(`Event: Huge\r\nData: ${'z'.repeat(5000)}\r\n\r\n`);
    server.broadcast('Event: StillAlive\r\nPrivilege: system,all\r\n\r\n');
    await expectEventually(() => expect(events).toContain('StillAlive'));
    expect(conn.stats.malformedFrames).toBe(2);
    expect(events).not.toContain('Broken');
    expect(events).not.toContain('Huge');
    expect(conn.isUp).toBe(true);
  });

  it('drops a wedged link when the keepalive Ping goes unanswered, and reconnects', async () => {
    conn = new AmiConnection(options(server.port, { keepaliveIntervalMs: 80, actionTimeoutMs: 60 }));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    server.ignore.add('Ping');
    await expectEventually(() =>
      expect(conn!.status.value.lastError).toMatch(
        /^nothing received from Asterisk for \d+ ms \(keepalive\)$/,
      ),
    );
    // Probed after a third of the budget of silence, before it was declared dead.
    expect(server.actions('Ping').length).toBeGreaterThanOrEqual(1);
    server.ignore.delete('Ping');
    await expectEventually(() => expect(server.connections).toBeGreaterThanOrEqual(2));
    await expectEventually(() => expect(conn!.isUp).toBe(true));
  });

  it('counts each lost session by reason: closed by Asterisk, reset, keepalive; never a failed attempt or stop()', async () => {
    conn = new AmiConnection(options(server.port, { keepaliveIntervalMs: 300, actionTimeoutMs: 200 }));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    for (const s of server.sockets) s.end(); // a FIN: Asterisk closed the session
    await expectEventually(() => expect(conn!.stats.disconnects.closed).toBe(1));
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    for (const s of server.sockets) s.resetAndDestroy();
    await expectEventually(() => expect(conn!.stats.disconnects.reset).toBe(1));
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    server.ignore.add('Ping');
    await expectEventually(() => expect(conn!.stats.disconnects.keepalive).toBe(1));
    server.ignore.delete('Ping');
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    server.secret = 'changed';
    for (const s of server.sockets) s.end();
    await expectEventually(() => expect(conn!.stats.reconnects).toBeGreaterThanOrEqual(5));
    await conn.stop();
    expect(conn.stats.disconnects).toEqual({ closed: 2, reset: 1, keepalive: 1, error: 0 });
  });

  it('stop() logs off, closes the socket and rejects new actions', async () => {
    conn = new AmiConnection(options(server.port));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    await conn.stop();
    expect(server.actions('Logoff')).toHaveLength(1);
    await expectEventually(() => expect(server.sockets.size).toBe(0));
    expect(conn.status.value.status).toBe('down');
    await expect(conn.action('Ping')).rejects.toThrow(AmiConnectionClosedError);
    const before = server.connections;
    await new Promise((r) => setTimeout(r, 150));
    expect(server.connections).toBe(before);
  });

  it('refuses header injection in action values', async () => {
    conn = new AmiConnection(options(server.port));
    conn.start();
    await expectEventually(() => expect(conn!.isUp).toBe(true));
    await expect(conn.action('Command', { Command: 'core show version\r\nAction: Logoff' })).rejects.toThrow(
      /line break/,
    );
  });
});
