import { Logger } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { WebSocketServer } from 'ws';

/**
 * Nest's WsAdapter logs every client's socket error at `error` level with a stack: one line per hostile
 * or broken client (a frame over the size limit, bad UTF-8), which a misbehaving client can repeat at
 * will. The gateway handles, counts and logs those itself (`pbxpulse_gateway_clients_dropped_total`);
 * only errors of the server itself are logged here.
 */
export class GatewayWsAdapter extends WsAdapter {
  private readonly serverLogger = new Logger('GatewayWsAdapter');

  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('error', (err: Error) =>
      this.serverLogger.error(`WebSocket server error: ${err.message}`, err.stack),
    );
    return server;
  }
}
