import { Module } from '@nestjs/common';
import { BoardAssetsService } from './board.assets';
import { BoardController } from './board.controller';

/** The built-in live board at `GET /`: a static page that reads the REST API and `/ws` like any viewer. */
@Module({ controllers: [BoardController], providers: [BoardAssetsService] })
export class BoardModule {}
