/**
 * A SIP-over-WebSocket (RFC 7118) test client for REGISTER only: subprotocol `sip`, one SIP message
 * per text frame, Via `SIP/2.0/WS <random>.invalid`, Contact `sip:<user>@<random>.invalid;transport=ws`.
 * Answers OPTIONS (qualify) with 200 OK. Real WebRTC calls are for JsSIP in a browser.
 *
 *   const ws = await SipWsClient.open();
 *   await ws.register({ user: '1001', password: 'pw1001-sandbox' });
 *   await ws.close();
 */
import WebSocket from 'ws';
import { SANDBOX } from '../sandbox';
import { SipAgent, type SipAgentOptions } from './sip-agent';
import { randomToken } from './sip-message';

export interface SipWsClientOptions extends SipAgentOptions {
  /** Default SANDBOX.sipWsUrl (ws://127.0.0.1:18088/ws). */
  readonly url?: string;
  /** Bound on the WebSocket handshake (default: transactionTimeoutMs, 4 s). */
  readonly connectTimeoutMs?: number;
}

export class SipWsClient extends SipAgent {
  protected readonly reliable = true;
  protected readonly destination: string;
  readonly url: string;
  /** The random `<token>.invalid` host of our Via and Contact. */
  readonly viaHost = `${randomToken(6)}.invalid`;
  /** Set when the server closed the WebSocket (code and reason). */
  remoteClose: { code: number; reason: string } | undefined;

  private closing: Promise<void> | undefined;

  private constructor(
    private readonly ws: WebSocket,
    url: string,
    options: SipWsClientOptions,
  ) {
    super({ ...options, domain: options.domain ?? SANDBOX.sipDomain });
    this.url = url;
    this.destination = url;
    ws.on('message', (data: WebSocket.RawData) => {
      let text: string;
      if (Array.isArray(data)) text = Buffer.concat(data).toString('utf8');
      else if (Buffer.isBuffer(data)) text = data.toString('utf8');
      else text = Buffer.from(data).toString('utf8');
      this.receive(text, (reply) => this.sendToServer(reply));
    });
    ws.on('close', (code, reason) => {
      if (!this.closed) this.remoteClose = { code, reason: reason.toString('utf8') };
      this.shutdownCore(`SIP WebSocket ${url} closed (code ${code})`);
    });
    ws.on('error', () => undefined); // surfaced as close / transaction errors
  }

  /** Opens the WebSocket (subprotocol `sip`); rejects if the handshake fails or takes too long. */
  static open(options: SipWsClientOptions = {}): Promise<SipWsClient> {
    const url = options.url ?? SANDBOX.sipWsUrl;
    const timeoutMs = options.connectTimeoutMs ?? options.transactionTimeoutMs ?? 4000;
    return new Promise<SipWsClient>((resolve, reject) => {
      const ws = new WebSocket(url, 'sip', { handshakeTimeout: timeoutMs });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`SIP WebSocket ${url}: not open within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        if (ws.protocol !== 'sip') {
          ws.terminate();
          reject(new Error(`SIP WebSocket ${url}: server chose subprotocol '${ws.protocol}', not 'sip'`));
          return;
        }
        resolve(new SipWsClient(ws, url, options));
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`SIP WebSocket ${url}: ${err.message}`, { cause: err }));
      });
    });
  }

  contactUri(user: string): string {
    return `sip:${user}@${this.viaHost};transport=ws`;
  }

  protected sendToServer(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) throw new Error(`SIP WebSocket ${this.url} is not open`);
    this.ws.send(text);
  }

  protected viaHeader(branch: string): string {
    return `SIP/2.0/WS ${this.viaHost};branch=${branch}`;
  }

  /**
   * Unregisters first when registered and `graceful` (default), then closes the WebSocket (terminated if
   * the close handshake takes over 1 s).
   */
  close(options: { graceful?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      if ((options.graceful ?? true) && this.registered && this.ws.readyState === WebSocket.OPEN) {
        await this.unregister().catch(() => undefined);
      }
      this.shutdownCore('SIP client closed');
      if (this.ws.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.ws.terminate();
          resolve();
        }, 1000);
        this.ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (options.graceful ?? true) this.ws.close(1000, 'bye');
        else this.ws.terminate();
      });
    })();
    return this.closing;
  }
}
