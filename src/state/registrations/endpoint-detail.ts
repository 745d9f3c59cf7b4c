import { Injectable, Logger } from '@nestjs/common';

/**
 * Adds fields to `GET /api/v1/nodes/{node}/endpoints/{name}`. Called only for a known endpoint; returns
 * the keys to merge into the response (e.g. `{ authLoop: …, recentAuthEvents: [...] }`). `endpoint` and
 * `contacts` are reserved. A contributor that throws (or rejects) is logged and left out: one cannot
 * break the others nor the response.
 */
export type EndpointDetailContributor = (
  node: string,
  endpoint: string,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** The registry behind `ENDPOINT_DETAIL_CONTRIBUTORS`. */
export interface EndpointDetailContributors {
  /**
   * Add a contributor under a unique key (the same key replaces it). Returns the unregister function.
   * Typically called from a provider's constructor:
   *
   *   constructor(@Inject(ENDPOINT_DETAIL_CONTRIBUTORS) details: EndpointDetailContributors) {
   *     details.register('auth-loops', (node, endpoint) => ({ authLoop: this.activeLoop(node, endpoint) }));
   *   }
   */
  register(key: string, contributor: EndpointDetailContributor): () => void;
  /** Every contribution for one endpoint, merged in registration order. */
  collect(node: string, endpoint: string): Promise<Record<string, unknown>>;
}

/** Injection token of the `EndpointDetailContributors` registry (provided by `RegistrationsModule`). */
export const ENDPOINT_DETAIL_CONTRIBUTORS = Symbol('ENDPOINT_DETAIL_CONTRIBUTORS');

const RESERVED = new Set(['endpoint', 'contacts']);

@Injectable()
export class EndpointDetailRegistry implements EndpointDetailContributors {
  private readonly logger = new Logger(EndpointDetailRegistry.name);
  private readonly contributors = new Map<string, EndpointDetailContributor>();

  register(key: string, contributor: EndpointDetailContributor): () => void {
    this.contributors.set(key, contributor);
    return () => {
      if (this.contributors.get(key) === contributor) this.contributors.delete(key);
    };
  }

  async collect(node: string, endpoint: string): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [key, contribute] of this.contributors) {
      let part: Record<string, unknown>;
      try {
        part = await contribute(node, endpoint);
      } catch (err) {
        this.logger.error(
          `endpoint detail contributor '${key}' failed: ${(err as Error).message}`,
          (err as Error).stack,
        );
        continue;
      }
      for (const [field, value] of Object.entries(part)) {
        if (RESERVED.has(field)) {
          this.logger.warn(`endpoint detail contributor '${key}' tried to set reserved field '${field}'`);
          continue;
        }
        out[field] = value;
      }
    }
    return out;
  }
}
