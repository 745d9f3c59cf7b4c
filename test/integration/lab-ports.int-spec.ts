import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import {
  LAB,
  LAB_DEFAULT_PORTS,
  labCli,
  labNodeYaml,
  labPaths,
  labStart,
  labStop,
} from '../support/lab-asterisk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The lab's default ports held by someone else (as another Asterisk on the machine would hold them):
 * the lab starts on free ports instead, and a daemon pointed at the lab logs in to the lab, never to
 * the process on the default port.
 */
describe('lab Asterisk on a machine where its default ports are taken', () => {
  let ami: net.Server | undefined;
  let http: net.Server | undefined;
  let sip: dgram.Socket | undefined;
  let daemon: TestDaemon | undefined;
  const knocks = { ami: 0, http: 0, sip: 0 };

  afterAll(async () => {
    await daemon?.close();
    await labStop();
    await new Promise<void>((resolve) => (ami ? ami.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    sip?.close();
  });

  const listenTcp = (port: number, count: () => void): Promise<net.Server> =>
    new Promise((resolve, reject) => {
      const server = net.createServer((socket) => {
        count();
        // What an Asterisk would say first: a daemon logging in here would get this far.
        socket.end('Asterisk Call Manager/9.9.9\r\n');
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });

  it('moves each taken port to a free one, in the installed configuration and in LAB', async () => {
    await labStop();
    ami = await listenTcp(LAB_DEFAULT_PORTS.ami, () => (knocks.ami += 1));
    http = await listenTcp(LAB_DEFAULT_PORTS.http, () => (knocks.http += 1));
    sip = dgram.createSocket('udp4');
    sip.on('message', () => (knocks.sip += 1));
    await new Promise<void>((resolve, reject) => {
      sip!.once('error', reject);
      sip!.bind(LAB_DEFAULT_PORTS.sip, '127.0.0.1', () => resolve());
    });

    await labStart();
    expect(LAB.amiPort).not.toBe(LAB_DEFAULT_PORTS.ami);
    expect(LAB.httpPort).not.toBe(LAB_DEFAULT_PORTS.http);
    expect(LAB.sipPort).not.toBe(LAB_DEFAULT_PORTS.sip);
    expect(LAB.httpsPort).toBe(LAB_DEFAULT_PORTS.https); // free here: the default is kept
    expect(LAB.ariUrl).toBe(`http://127.0.0.1:${LAB.httpPort}`);

    const etc = labPaths().etc;
    expect(readFileSync(join(etc, 'manager.conf'), 'utf8')).toMatch(
      new RegExp(`^port = ${LAB.amiPort}$`, 'm'),
    );
    expect(readFileSync(join(etc, 'http.conf'), 'utf8')).toMatch(
      new RegExp(`^bindport = ${LAB.httpPort}$`, 'm'),
    );
    expect(readFileSync(join(etc, 'pjsip.conf'), 'utf8')).toContain(`bind = 127.0.0.1:${LAB.sipPort}`);
    // What the running lab says it bound.
    expect(await labCli('manager show settings')).toMatch(new RegExp(`127\\.0\\.0\\.1:${LAB.amiPort}\\b`));
    expect(await labCli('http show status')).toContain(`127.0.0.1:${LAB.httpPort}`);
    expect(await labCli('pjsip show transports')).toMatch(
      new RegExp(`transport-udp\\s+udp\\s+0\\s+0\\s+127\\.0\\.0\\.1:${LAB.sipPort}\\b`),
    );
  });

  it('a daemon given labNodeYaml logs in to the lab, not to the process on the default port', async () => {
    daemon = await startDaemon(labNodeYaml('lab'));
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 20_000);
    const nodes = (await daemon.get('/api/v1/nodes')).body.nodes;
    expect(nodes[0]).toMatchObject({ ami: { status: 'up' }, ari: { status: 'up' } });
    expect(await labCli('manager show connected')).toContain(LAB.amiUser);
    expect(knocks).toEqual({ ami: 0, http: 0, sip: 0 });
  });
});
