/**
 * A minimal ARI for benchmarks that are about AMI: one HTTP server (127.0.0.1, free port) that accepts
 * the events WebSocket (`/ari/events?app=…`) of any number of daemon nodes and answers the REST calls
 * the daemon makes after an ARI connect: `GET /ari/asterisk/info` with a recorded real answer, and
 * `GET /ari/channels` / `GET /ari/bridges` with empty lists (the daemon only asks those while AMI is
 * down). Anything else is answered 404 and counted, so a benchmark can say what was not simulated.
 * Credentials are not checked.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface AriSimulatorStats {
  /** Event WebSockets accepted so far. */
  sockets: number;
  requests: number;
  /** `METHOD /path` → how often it was answered 404. */
  unknown: Record<string, number>;
}

export class AriSimulator {
  readonly stats: AriSimulatorStats = { sockets: 0, requests: 0, unknown: {} };
  private readonly clients = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly connections = new Set<net.Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `asteriskInfo` is the JSON body `GET /ari/asterisk/info` answers (record it from a real Asterisk). */
  static async start(asteriskInfo: unknown): Promise<AriSimulator> {
    const body = JSON.stringify(asteriskInfo);
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sim = new AriSimulator(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (s) => {
      sim.connections.add(s);
      s.on('close', () => sim.connections.delete(s));
    });
    server.on('request', (req, res) => {
      sim.stats.requests++;
      const path = (req.url ?? '').split('?')[0];
      const json = (status: number, text: string): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(text);
      };
      if (req.method === 'GET' && path === '/ari/asterisk/info') return json(200, body);
      if (req.method === 'GET' && (path === '/ari/channels' || path === '/ari/bridges')) {
        return json(200, '[]');
      }
      const key = `${req.method ?? '?'} ${path}`;
      sim.stats.unknown[key] = (sim.stats.unknown[key] ?? 0) + 1;
      json(404, '{"message":"not in the ARI simulator"}');
    });
    server.on('upgrade', (req, socket, head) => {
      if ((req.url ?? '').split('?')[0] !== '/ari/events') {
        socket.destroy();
        return;
      }
      sim.wss.handleUpgrade(req, socket, head, (ws) => {
        sim.stats.sockets++;
        sim.clients.add(ws);
        ws.on('close', () => sim.clients.delete(ws));
        ws.on('error', () => undefined);
      });
    });
    return sim;
  }

  async close(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    for (const s of this.connections) s.destroy();
    this.wss.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
