import { Controller, Get, Header, applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { BoardAssetsService } from './board.assets';

/**
 * Only our own script and stylesheet, no inline code: the page renders names and user agents that
 * SIP clients choose. `connect-src` lists `ws:`/`wss:` because older browsers do not let `'self'`
 * cover the WebSocket scheme.
 */
export const BOARD_CSP = [
  "default-src 'self'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "script-src 'self'",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function BoardAsset(contentType: string, summary: string): MethodDecorator {
  return applyDecorators(
    Header('Content-Type', `${contentType}; charset=utf-8`),
    Header('Content-Security-Policy', BOARD_CSP),
    Header('X-Content-Type-Options', 'nosniff'),
    Header('Referrer-Policy', 'no-referrer'),
    // Small and versioned with the daemon: revalidate rather than run a stale script after an upgrade.
    Header('Cache-Control', 'no-cache'),
    ApiOperation({ summary }),
    ApiProduces(contentType),
    ApiOkResponse({ description: 'static; holds no data and no secret, always open' }),
  );
}

/**
 * Serves the board without a token: the page holds no data. The script asks for the viewer token
 * when the API answers 401 and sends it with every request.
 */
@ApiTags('board')
@Controller()
export class BoardController {
  constructor(private readonly assets: BoardAssetsService) {}

  @Get()
  @BoardAsset('text/html', 'The live board (HTML)')
  async page(): Promise<string> {
    return (await this.assets.get()).html;
  }

  @Get('board.js')
  @BoardAsset('text/javascript', "The live board's script")
  async script(): Promise<string> {
    return (await this.assets.get()).script;
  }

  @Get('board.css')
  @BoardAsset('text/css', "The live board's stylesheet")
  async style(): Promise<string> {
    return (await this.assets.get()).style;
  }
}
