import { Global, Module } from '@nestjs/common';
import { AmiModule } from '../../ami/ami.module';
import { DiagnosticsController } from '../../api/diagnostics.controller';
import { PjsipController } from '../../api/pjsip.controller';
import { ViewerGuard } from '../../api/viewer.guard';
import { DiagnosticMetrics } from '../../metrics/diagnostic.metrics';
import { PjsipShowService } from '../pjsip/pjsip-show.service';
import { DiagnosticsService } from './diagnostics.service';

/**
 * `pjsip show` equivalents, configuration diagnoses with remedies, and their metric. Reads Asterisk
 * over AMI only (list actions, read-only CLI commands, GetConfig); changes nothing.
 */
@Global()
@Module({
  imports: [AmiModule],
  controllers: [PjsipController, DiagnosticsController],
  providers: [ViewerGuard, PjsipShowService, DiagnosticsService, DiagnosticMetrics],
  exports: [PjsipShowService, DiagnosticsService],
})
export class DiagnosticsModule {}
