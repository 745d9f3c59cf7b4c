import { Module } from '@nestjs/common';
import { AmiModule } from '../../ami/ami.module';
import { DetectorsModule } from '../../detectors/detectors.module';
import { PjsipShowService } from '../pjsip/pjsip-show.service';
import { DiagnosticsService } from './diagnostics.service';

/**
 * `pjsip show` equivalents and configuration diagnoses with remedies (`src/health/pjsip`,
 * `src/health/diagnostics`). Reads Asterisk through the AMI surface only; changes nothing.
 */
@Module({
  imports: [AmiModule, DetectorsModule],
  providers: [PjsipShowService, DiagnosticsService],
  exports: [PjsipShowService, DiagnosticsService],
})
export class DiagnosticsModule {}
