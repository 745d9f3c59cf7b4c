/**
 * A benchmark's own AMI session on the scale PBX (events `system` only): when each contact change
 * (`ContactStatus` NonQualified = added, Removed = gone) first arrived, on the caller's clock. Matched
 * against what the daemon shows, it gives event-to-state and event-to-client latencies.
 */
import * as net from 'node:net';
import { SCALE_AMI } from './scale-pbx';

export interface AmiProbe {
  /** `add|remove <aor> <uri>` → first arrival, on the probe's clock. */
  readonly stamps: Map<string, number>;
  /** ContactStatus events seen. */
  events: number;
  close(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function amiProbe(port: number, clock: () => number): Promise<AmiProbe> {
  const socket = net.createConnection({ host: '127.0.0.1', port });
  const stamps = new Map<string, number>();
  const probe: AmiProbe = { stamps, events: 0, close: () => socket.destroy() };
  let pending = '';
  let loggedIn: (ok: boolean) => void = () => undefined;
  const login = new Promise<boolean>((r) => (loggedIn = r));
  socket.setEncoding('utf8');
  socket.on('error', () => loggedIn(false));
  socket.on('data', (chunk: string) => {
    const t = clock();
    pending += chunk;
    let end: number;
    while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
      const frame = pending.slice(0, end);
      pending = pending.slice(end + 4);
      if (frame.includes('ActionID: bench-login')) loggedIn(frame.includes('Response: Success'));
      if (!frame.startsWith('Event: ContactStatus\r\n')) continue;
      probe.events++;
      const h: Record<string, string> = {};
      for (const line of frame.split('\r\n')) {
        const i = line.indexOf(': ');
        if (i > 0) h[line.slice(0, i)] = line.slice(i + 2);
      }
      const kind =
        h.ContactStatus === 'Removed' ? 'remove' : h.ContactStatus === 'NonQualified' ? 'add' : null;
      if (kind === null || h.AOR === undefined || h.URI === undefined) continue;
      const key = `${kind} ${h.AOR} ${h.URI}`;
      if (!stamps.has(key)) stamps.set(key, t);
    }
  });
  socket.write(
    `Action: Login\r\nActionID: bench-login\r\nUsername: ${SCALE_AMI.user}\r\nSecret: ${SCALE_AMI.secret}\r\nEvents: system\r\n\r\n`,
  );
  if (!(await Promise.race([login, sleep(10_000).then(() => false)]))) {
    socket.destroy();
    throw new Error('the benchmark AMI session could not log in');
  }
  return probe;
}
