/**
 * A TCP proxy between the daemon and an Asterisk that a test controls, to put network faults on the
 * path: a stall (sockets open, no byte moves), a half-open link (the far side vanished without a FIN),
 * a reset in the middle of a frame, and new connections that are accepted but never answered (an AMI
 * greeting that never comes, an HTTP request that hangs).
 */
import * as net from 'node:net';

/** What happens to new connections: forwarded, or accepted and left hanging (nothing is ever sent). */
export type AcceptMode = 'forward' | 'blackhole';

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  /** Bytes are dropped instead of forwarded (both directions). */
  stalled: boolean;
  /** Reset the client when the next chunk from upstream arrives, after forwarding half of it. */
  resetOnNextChunk?: () => void;
}

export interface FaultProxy {
  readonly port: number;
  /** Connections currently open on the client side. */
  readonly open: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  acceptMode: AcceptMode;
  /** Existing connections stop passing bytes either way; the sockets stay open. */
  stall(): void;
  /** Existing connections pass bytes again (whatever was sent meanwhile is lost). */
  resume(): void;
  /**
   * The far side vanishes: the upstream sockets are closed, the client sockets are kept open and silent
   * (no FIN, no RST), as when a peer loses power or a firewall forgets the flow.
   */
  halfOpen(): void;
  /**
   * The next chunk from upstream, on whichever existing connection carries one first, is cut: half of
   * it is forwarded, then the client gets a TCP RST. Resolves once that happened (the other
   * connections, e.g. idle HTTP keep-alive ones, are left alone).
   */
  resetMidFrame(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const pair: Pair = { client, stalled: false };
    pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (proxy.acceptMode === 'blackhole') return;
    const upstream = net.createConnection(target);
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      // A half-open pair keeps its client socket: that is the fault.
      if (!pair.stalled) client.destroy();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (pair.resetOnNextChunk) {
        const half = chunk.subarray(0, Math.max(1, chunk.length >> 1));
        pair.resetOnNextChunk();
        pair.stalled = true;
        client.write(half, () => {
          client.resetAndDestroy();
          upstream.destroy();
        });
        return;
      }
      if (!pair.stalled) client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (!pair.stalled) upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: FaultProxy = {
    port: (server.address() as net.AddressInfo).port,
    get open() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    acceptMode: 'forward',
    stall() {
      for (const p of pairs) p.stalled = true;
    },
    resume() {
      for (const p of pairs) p.stalled = false;
    },
    halfOpen() {
      for (const p of pairs) {
        p.stalled = true;
        p.upstream?.destroy();
      }
    },
    resetMidFrame() {
      const armed = [...pairs];
      return new Promise<void>((resolve) => {
        const fired = (): void => {
          for (const p of armed) p.resetOnNextChunk = undefined;
          resolve();
        };
        for (const p of armed) p.resetOnNextChunk = fired;
      });
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
