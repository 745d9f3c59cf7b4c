import * as dgram from 'node:dgram';

/**
 * A UDP relay that stands for a SIP registrar's address: datagrams sent to its port go to `target`, and
 * what `target` answers goes back to the sender. Closing it makes that address stop answering, as a
 * stopped registrar does, without stopping the Asterisk behind it.
 */
export class UdpRelay {
  private front?: dgram.Socket;
  private back?: dgram.Socket;
  private client?: { address: string; port: number };

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on `port` (0: a free one); resolves the port. */
  async start(port = 0): Promise<number> {
    const front = dgram.createSocket('udp4');
    const back = dgram.createSocket('udp4');
    front.on('message', (msg, rinfo) => {
      this.client = { address: rinfo.address, port: rinfo.port };
      back.send(msg, this.target.port, this.target.host);
    });
    back.on('message', (msg) => {
      if (this.client) front.send(msg, this.client.port, this.client.address);
    });
    front.on('error', () => undefined);
    back.on('error', () => undefined);
    await new Promise<void>((resolve) => front.bind(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => back.bind(0, '127.0.0.1', resolve));
    this.front = front;
    this.back = back;
    return front.address().port;
  }

  async stop(): Promise<void> {
    const sockets = [this.front, this.back].filter((s): s is dgram.Socket => s !== undefined);
    this.front = this.back = undefined;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
