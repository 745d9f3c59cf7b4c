import * as net from 'node:net';

/** An action as the fake server received it. */
export interface ReceivedAction {
  fields: Record<string, string>;
  socket: net.Socket;
}

export type ActionHandler = (action: ReceivedAction, server: FakeAmiServer) => string | undefined | void;

/**
 * A small AMI server for component tests of framing, login, timeouts and reconnect. It is never the
 * proof that a feature works against Asterisk: the integration tests use the real sandbox.
 */
export class FakeAmiServer {
  readonly received: ReceivedAction[] = [];
  readonly sockets = new Set<net.Socket>();
  secret = 'right-secret';
  /** Actions (by name) the server ignores, to provoke timeouts. */
  readonly ignore = new Set<string>();
  readonly handlers = new Map<string, ActionHandler>();
  connections = 0;
  private server?: net.Server;
  port = 0;

  async listen(port = 0): Promise<number> {
    this.server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Stop listening and drop every client. */
  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Write raw bytes to every client. */
  broadcast(raw: string | Buffer): void {
    for (const s of this.sockets) s.write(raw);
  }

  actions(name: string): ReceivedAction[] {
    return this.received.filter((a) => a.fields.Action?.toLowerCase() === name.toLowerCase());
  }

  private accept(socket: net.Socket): void {
    this.connections += 1;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    let buf = '';
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const fields: Record<string, string> = {};
        for (const line of frame.split('\r\n')) {
          const i = line.indexOf(':');
          if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trim();
        }
        this.onAction({ fields, socket });
      }
    });
  }

  private onAction(action: ReceivedAction): void {
    this.received.push(action);
    const name = action.fields.Action ?? '';
    const id = action.fields.ActionID ?? '';
    const reply = (body: string) => action.socket.write(`Response: ${body}`);
    if (this.ignore.has(name)) return;
    const custom = this.handlers.get(name);
    if (custom) {
      const out = custom(action, this);
      if (typeof out === 'string') action.socket.write(out);
      return;
    }
    switch (name) {
      case 'Login':
        if (action.fields.Secret === this.secret) {
          reply(`Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
          action.socket.write(
            'Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 5\r\nLastReload: 5\r\nStatus: Fully Booted\r\n\r\n',
          );
        } else {
          reply(`Error\r\nActionID: ${id}\r\nMessage: Authentication failed\r\n\r\n`);
          action.socket.end();
        }
        return;
      case 'Ping':
        reply(`Success\r\nActionID: ${id}\r\nPing: Pong\r\nTimestamp: 1700000000.000000\r\n\r\n`);
        return;
      case 'Logoff':
        reply(`Goodbye\r\nActionID: ${id}\r\nMessage: Thanks for all the fish.\r\n\r\n`);
        action.socket.end();
        return;
      default:
        reply(`Error\r\nActionID: ${id}\r\nMessage: Invalid/unknown command: ${name}.\r\n\r\n`);
    }
  }
}
