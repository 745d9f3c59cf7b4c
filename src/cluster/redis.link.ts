import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { doubledDelay } from '../common/backoff';
import { StatusStream } from '../common/status-stream';

/**
 * `redis://user:password@host:6379/0` → `redis://***@host:6379/0`: what logs and errors may show of
 * the cluster's Redis URL. Whatever cannot be parsed is shown as `<redis url>`.
 */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const auth = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
    const port = parsed.port === '' ? '' : `:${parsed.port}`;
    return `${parsed.protocol}//${auth}${parsed.host.replace(/:\d+$/, '')}${port}${parsed.pathname}`;
  } catch {
    return '<redis url>';
  }
}

export interface RedisLinkOptions {
  /** `redis://` or `rediss://` (TLS); may hold a password, never logged. */
  url: string;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /** A command not answered in time fails with a timeout (the link is then treated as lost). */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

/**
 * The daemon's one connection to the cluster's Redis, as a plain class: ioredis reconnects forever with
 * capped doubling, commands fail at once while the link is down (no offline queue: a lease renewal that
 * waited for a reconnect would act on a stale view), and the status is a replayed stream like the AMI
 * and ARI links'. Error texts come from ioredis and never contain the URL's password.
 */
export class RedisLink {
  readonly status = new StatusStream('connecting');
  /** Shown instead of the URL in logs. */
  readonly display: string;
  private readonly logger = new Logger('Redis link');
  private client: Redis | undefined;
  private lastLoggedError: string | undefined;

  constructor(private readonly options: RedisLinkOptions) {
    this.display = redactRedisUrl(options.url);
  }

  get isUp(): boolean {
    return this.status.value.status === 'up';
  }

  /** Connects in the background; `status` tells when commands can be sent. */
  start(): void {
    if (this.client) return;
    const o = this.options;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: o.connectTimeoutMs,
      commandTimeout: o.commandTimeoutMs,
      connectionName: 'pbxpulse',
      // Half jitter, like the AMI and ARI links: daemons that lost one Redis do not return in step.
      retryStrategy: (attempt) => {
        const ceiling = doubledDelay(o.reconnectInitialDelayMs, o.reconnectMaxDelayMs, attempt - 1);
        return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      },
    };
    const client = new Redis(o.url, redisOptions);
    client.on('ready', () => {
      this.lastLoggedError = undefined;
      this.logger.log(`connected to ${this.display}`);
      this.status.set('up');
    });
    client.on('error', (err: Error) => {
      const reason = this.describe(err);
      if (reason !== this.lastLoggedError) {
        this.logger.warn(`${this.display}: ${reason}`);
        this.lastLoggedError = reason;
      }
      if (!this.isUp) this.status.set('down', reason);
    });
    client.on('close', () => {
      if (this.isUp) this.logger.warn(`lost ${this.display}; reconnecting`);
      this.status.set('down', this.lastLoggedError ?? 'connection closed');
    });
    this.client = client;
    client.connect().catch(() => {
      // Reported through the 'error' event; ioredis keeps retrying per retryStrategy.
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    client.removeAllListeners('close');
    try {
      if (client.status === 'ready') await client.quit();
      else client.disconnect();
    } catch {
      client.disconnect();
    }
    this.status.set('down', 'stopped');
  }

  /** The client for commands; throws while stopped. Commands reject at once while the link is down. */
  get redis(): Redis {
    if (!this.client) throw new Error('the Redis link is stopped');
    return this.client;
  }

  /** ioredis errors name the host and port at most; a password can only appear in a URL, cut it anyway. */
  private describe(err: Error): string {
    return err.message.replace(this.options.url, this.display).slice(0, 200);
  }
}
