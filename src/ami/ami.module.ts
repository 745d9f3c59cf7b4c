import { Module } from '@nestjs/common';
import { AmiService } from './ami.service';

@Module({ providers: [AmiService], exports: [AmiService] })
export class AmiModule {}
