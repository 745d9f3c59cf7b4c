import { BadRequestError } from '../common/errors';
import { DEFAULT_RELOAD_MODULE, parseReloadBody } from './reload-modules';

describe('parseReloadBody', () => {
  it.each([undefined, null, '', {}])('defaults to res_pjsip.so for %p', (body) => {
    expect(parseReloadBody(body)).toBe(DEFAULT_RELOAD_MODULE);
  });

  it('accepts an allowlisted module', () => {
    expect(parseReloadBody({ module: 'pbx_config.so' })).toBe('pbx_config.so');
    expect(parseReloadBody({ module: 'http' })).toBe('http');
  });

  it.each([
    [[], 'JSON object'],
    ['res_pjsip.so', 'JSON object'],
    [{ module: 7 }, 'must be a string'],
    [{ module: 'res_pjsip.so', force: true }, 'unknown key'],
    [{ module: 'manager' }, 'allowed modules: res_pjsip.so'],
    [{ module: '__proto__' }, 'allowed modules'],
  ])('refuses %p (%s)', (body, reason) => {
    expect(() => parseReloadBody(body)).toThrow(BadRequestError);
    expect(() => parseReloadBody(body)).toThrow(reason);
  });
});
