import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { MemoryReclaimer, exposedGc } from '../common/memory-reclaimer';

/** How often the daemon looks whether an idle heap holds garbage worth a full collection. */
export const RECLAIM_INTERVAL_MS = 10_000;

/** Runs `MemoryReclaimer` on a timer (process memory is the daemon's own health). */
@Injectable()
export class MemoryReclaimService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MemoryReclaimService.name);
  readonly reclaimer = new MemoryReclaimer(exposedGc());
  private timer: NodeJS.Timeout | undefined;

  onApplicationBootstrap(): void {
    if (!this.reclaimer.available) {
      this.logger.warn('V8 gc() is not available: an idle daemon keeps the garbage of its last burst');
      return;
    }
    this.timer = setInterval(() => {
      this.reclaimer
        .check()
        .then((collected) => {
          if (collected) this.logger.debug(`idle heap collected (${this.reclaimer.collections} so far)`);
        })
        .catch((err: Error) => this.logger.warn(`heap collection failed: ${err.message}`));
    }, RECLAIM_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
