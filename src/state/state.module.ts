import { Module } from '@nestjs/common';
import { AmiModule } from '../ami/ami.module';
import { AriModule } from '../ari/ari.module';
import { CallResync } from './calls/call.resync';
import { CallStore } from './calls/call.store';
import { NodeOwnership } from './node-ownership';
import { NodeStateStore } from './node-state.store';
import { ENDPOINT_DETAIL_CONTRIBUTORS, EndpointDetailRegistry } from './registrations/endpoint-detail';
import { RegistrationStore } from './registrations/registration.store';
import { REGISTRATION_READER } from './registrations/registration.views';
import { ResyncCoordinator } from './resync.coordinator';
import { OutboundRegistrationStore } from './trunks/outbound-registration.store';
import { TrunkStore } from './trunks/trunk.store';

/**
 * The live PBX state (`src/state`): the per-node stores (nodes, registrations, calls, outbound registrations, trunk reachability), the only writers
 * of that state, and the resync that rebuilds them after every (re)connect through the adapters'
 * query surfaces. Everything else reads the stores.
 */
@Module({
  imports: [AmiModule, AriModule],
  providers: [
    NodeStateStore,
    NodeOwnership,
    ResyncCoordinator,
    RegistrationStore,
    { provide: REGISTRATION_READER, useExisting: RegistrationStore },
    { provide: ENDPOINT_DETAIL_CONTRIBUTORS, useClass: EndpointDetailRegistry },
    CallStore,
    CallResync,
    OutboundRegistrationStore,
    TrunkStore,
  ],
  exports: [
    NodeStateStore,
    NodeOwnership,
    RegistrationStore,
    REGISTRATION_READER,
    ENDPOINT_DETAIL_CONTRIBUTORS,
    CallStore,
    OutboundRegistrationStore,
    TrunkStore,
  ],
})
export class StateModule {}
