import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StateModule } from '../state/state.module';
import { HealthController } from './health.controller';
import { LinkHealthIndicator } from './link.health';
import { MemoryReclaimService } from './memory-reclaim.service';
import { ShutdownState } from './shutdown.state';

/**
 * `/health/live` and `/health/ready`: terminus indicators per node and link, read from the node store;
 * and the idle-heap collection that keeps the daemon's own memory to its live set.
 */
@Module({
  // Terminus would log every failed check; a probe every few seconds while a PBX is down would flood
  // the log. The adapters already log each link transition once.
  imports: [TerminusModule.forRoot({ logger: false }), StateModule],
  controllers: [HealthController],
  providers: [ShutdownState, LinkHealthIndicator, MemoryReclaimService],
  exports: [ShutdownState],
})
export class HealthModule {}
