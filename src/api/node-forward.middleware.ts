import { Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { NodeOwnerUnreachableError } from '../cluster/cluster.errors';
import { ClusterService } from '../cluster/cluster.service';
import type { LeaseHolder } from '../cluster/lease.store';
import { roleOf, tokenFrom } from '../common/token-auth';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { NodeOwnership } from '../state/node-ownership';
import { NodeStateStore } from '../state/node-state.store';

/** Sent on a forwarded request (value: the forwarding daemon's id): its receiver never forwards again. */
export const FORWARDED_BY_HEADER = 'x-pbxpulse-forwarded-by';
/** On every answer of a node-scoped read in cluster mode: the id of the daemon whose stores answered. */
export const SERVED_BY_HEADER = 'x-pbxpulse-served-by';

const NODE_IN_PATH = /^\/api\/v1\/nodes\/([^/?#]+)\//;

/**
 * Cluster mode only (ApiModule applies it to the node-scoped read controllers when `cluster:` is set):
 * a read of a node this daemon does not watch is forwarded, same path and query and the caller's
 * `Authorization`, to the node's watcher (the lease holder in Redis, at the URL it advertises), and its
 * answer (status, content type, body) is relayed as is: the watcher's stores are the only true ones.
 * When the read cannot be forwarded, 503 `NODE_OWNER_UNREACHABLE`, never this daemon's stores.
 *
 * Left to the route as usual: unknown nodes (404) and, when a viewer token is set, requests without a
 * valid token (401), so nothing unauthenticated is sent on. A forwarded request that reaches a daemon
 * that does not watch the node (the lease moved meanwhile) gets the 503 rather than a second hop.
 */
@Injectable()
export class NodeForwardMiddleware implements NestMiddleware {
  private readonly logger = new Logger(NodeForwardMiddleware.name);
  private readonly nodes: ReadonlySet<string>;
  private readonly timeoutMs: number;

  constructor(
    @Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig,
    private readonly ownership: NodeOwnership,
    private readonly cluster: ClusterService,
    private readonly state: NodeStateStore,
  ) {
    this.nodes = new Set(config.nodes.map((n) => n.name));
    this.timeoutMs = config.connections.actionTimeoutMs;
  }

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const node = NODE_IN_PATH.exec(req.originalUrl)?.[1];
    if (node === undefined || !this.nodes.has(node) || !this.authorized(req)) return next();
    if (this.ownership.watches(node)) {
      // Just taken over (or its PBX unreachable since): the stores hold nothing of this node yet, and an
      // empty list would be a wrong answer. Loaded once an AMI resync completed after the watch began.
      const since = this.ownership.watchedSince(node) ?? '';
      const resync = this.state.get(node)?.lastResync.ami ?? null;
      if (resync === null || resync < since) {
        throw new NodeOwnerUnreachableError(
          node,
          `its watcher ${this.cluster.daemonId} has not loaded it yet (takeover under way, or its PBX unreachable since)`,
        );
      }
      res.setHeader(SERVED_BY_HEADER, this.cluster.daemonId);
      return next();
    }
    if (req.headers[FORWARDED_BY_HEADER] !== undefined) {
      throw new NodeOwnerUnreachableError(
        node,
        'a forwarded request reached a daemon that no longer watches it',
      );
    }
    const holder = await this.holder(node);
    await this.forward(node, holder, req, res);
  }

  private authorized(req: Request): boolean {
    const auth = this.config.auth;
    return (
      !auth.viewerToken || roleOf(auth, tokenFrom(req.headers.authorization, req.query.token)) !== undefined
    );
  }

  private async holder(node: string): Promise<LeaseHolder & { url: string }> {
    let holder: LeaseHolder | undefined;
    try {
      holder = await this.cluster.holderOf(node);
    } catch {
      throw new NodeOwnerUnreachableError(
        node,
        "the cluster's Redis does not answer, so its watcher is unknown",
      );
    }
    if (!holder) throw new NodeOwnerUnreachableError(node, 'no daemon watches it now (takeover under way)');
    if (holder.daemon === this.cluster.daemonId) {
      throw new NodeOwnerUnreachableError(node, 'this daemon is taking it over now');
    }
    if (holder.url === undefined) {
      throw new NodeOwnerUnreachableError(
        node,
        `its watcher ${holder.daemon} does not answer (heartbeat expired)`,
      );
    }
    return { daemon: holder.daemon, url: holder.url };
  }

  private async forward(
    node: string,
    holder: LeaseHolder & { url: string },
    req: Request,
    res: Response,
  ): Promise<void> {
    const headers: Record<string, string> = { [FORWARDED_BY_HEADER]: this.cluster.daemonId };
    // The daemons of a cluster share the tokens: the caller's own credential goes on, never logged.
    if (req.headers.authorization !== undefined) headers.authorization = req.headers.authorization;
    if (req.headers.accept !== undefined) headers.accept = req.headers.accept;
    let status: number;
    let contentType: string | null;
    let body: Buffer;
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const answer = await fetch(`${holder.url}${req.originalUrl}`, { headers, redirect: 'manual', signal });
      status = answer.status;
      contentType = answer.headers.get('content-type');
      body = Buffer.from(await answer.arrayBuffer());
    } catch (error) {
      const within = signal.aborted ? ` within ${this.timeoutMs} ms` : '';
      this.logger.debug(`${node}: forwarding to ${holder.daemon} failed: ${(error as Error).message}`);
      throw new NodeOwnerUnreachableError(node, `its watcher ${holder.daemon} did not answer${within}`);
    }
    res.status(status);
    if (contentType !== null) res.setHeader('content-type', contentType);
    res.setHeader(SERVED_BY_HEADER, holder.daemon);
    res.end(body);
  }
}
