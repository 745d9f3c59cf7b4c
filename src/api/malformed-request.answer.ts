import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type HttpErrorBody, codeForStatus } from './error.filter';

/**
 * Node's HTTP parser refuses some requests before Express sees them (a malformed request line or
 * header, headers over the size limit, a request that took too long): Node's default answer is a bare
 * `400` without a body. This answers them with the `{statusCode, code, message}` body of every other
 * error instead, then closes the connection.
 */
@Injectable()
export class MalformedRequestAnswer implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    server?.on('clientError', answerClientError);
  }
}

/** The `clientError` handler: a JSON error body, `Connection: close`. */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // A response already under way on this connection cannot be followed by another one.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [statusCode, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'request headers too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request not received in time']
        : [400, 'malformed HTTP request'];
  const body: HttpErrorBody = { statusCode, code: codeForStatus(statusCode), message };
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  );
}
