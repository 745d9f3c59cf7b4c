import { Global, Module } from '@nestjs/common';
import { NodeStateStore } from './node-state.store';
import { ResyncCoordinator } from './resync.coordinator';

@Global()
@Module({ providers: [NodeStateStore, ResyncCoordinator], exports: [NodeStateStore, ResyncCoordinator] })
export class StateModule {}
