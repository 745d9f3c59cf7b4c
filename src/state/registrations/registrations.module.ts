import { Global, Module } from '@nestjs/common';
import { AmiModule } from '../../ami/ami.module';
import { RegistrationsController } from '../../api/registrations.controller';
import { ViewerGuard } from '../../api/viewer.guard';
import { RegistrationMetrics } from '../../metrics/registration.metrics';
import { ENDPOINT_DETAIL_CONTRIBUTORS, EndpointDetailRegistry } from './endpoint-detail';
import { RegistrationStore } from './registration.store';
import { REGISTRATION_READER } from './registration.views';

/**
 * Live registration state per node (`RegistrationStore`, also as `REGISTRATION_READER`), its REST reads,
 * its metrics, and the `ENDPOINT_DETAIL_CONTRIBUTORS` registry that other features extend the endpoint
 * detail response through.
 */
@Global()
@Module({
  imports: [AmiModule],
  controllers: [RegistrationsController],
  providers: [
    RegistrationStore,
    { provide: REGISTRATION_READER, useExisting: RegistrationStore },
    { provide: ENDPOINT_DETAIL_CONTRIBUTORS, useClass: EndpointDetailRegistry },
    RegistrationMetrics,
    ViewerGuard,
  ],
  exports: [RegistrationStore, REGISTRATION_READER, ENDPOINT_DETAIL_CONTRIBUTORS],
})
export class RegistrationsModule {}
