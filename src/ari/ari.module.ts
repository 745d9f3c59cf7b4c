import { Module } from '@nestjs/common';
import { AriService } from './ari.service';

@Module({ providers: [AriService], exports: [AriService] })
export class AriModule {}
