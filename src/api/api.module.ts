import { Module } from '@nestjs/common';
import { NodesController } from './nodes.controller';
import { ViewerGuard } from './viewer.guard';

@Module({ controllers: [NodesController], providers: [ViewerGuard] })
export class ApiModule {}
