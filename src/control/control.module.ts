import { Global, Module } from '@nestjs/common';
import { AdminGuard } from '../api/admin.guard';
import { ControlController } from '../api/control.controller';
import { AmiModule } from '../ami/ami.module';
import { AriModule } from '../ari/ari.module';
import { GatewayModule } from '../gateway/gateway.module';
import { ControlMetrics } from '../metrics/control.metrics';
import { ControlService } from './control.service';
import { CONTROL_CLOCK } from './reload-rate-limiter';
import { UnreadableBodyAudit } from './unreadable-body.audit';

/** The admin-only control routes (reload, qualify), their audit and their metrics. */
@Global()
@Module({
  imports: [AmiModule, AriModule, GatewayModule],
  controllers: [ControlController],
  providers: [
    AdminGuard,
    ControlService,
    ControlMetrics,
    UnreadableBodyAudit,
    { provide: CONTROL_CLOCK, useValue: Date.now },
  ],
  exports: [ControlService],
})
export class ControlModule {}
