import { NON_JSON_BODY, parseQualifyBody } from './control-body';
import { parseReloadBody } from './reload-modules';

describe('control request bodies', () => {
  it('a body that was not JSON is refused by both parsers, naming the content type to send', () => {
    for (const parse of [parseReloadBody, parseQualifyBody]) {
      expect(() => parse(NON_JSON_BODY)).toThrow(
        expect.objectContaining({
          code: 'BAD_REQUEST',
          message: expect.stringContaining('sent with Content-Type: application/json'),
        }),
      );
    }
  });

  it('qualify takes no body or {}, nothing else', () => {
    expect(() => parseQualifyBody(undefined)).not.toThrow();
    expect(() => parseQualifyBody({})).not.toThrow();
    for (const body of [[], [1], 'x', 5, null, { now: true }]) {
      expect(() => parseQualifyBody(body)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });
});
