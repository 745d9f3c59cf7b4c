import { BadRequestError } from '../common/errors';
import { NON_JSON_BODY, NON_JSON_MESSAGE } from './control-body';

/**
 * Modules the control API may reload, and what each reload re-reads. Only modules that implement a
 * reload and that a PBX operator changes while tuning PJSIP/WebRTC; `manager` (it would reset the
 * daemon's own AMI permissions) and a whole-system reload are deliberately absent.
 */
export const RELOAD_MODULES = {
  'res_pjsip.so':
    'pjsip.conf objects: endpoints, AORs, auths, identifies (not transports: restart for those)',
  'res_pjsip_outbound_registration.so': 'outbound registrations of pjsip.conf',
  'res_rtp_asterisk.so': 'rtp.conf: RTP port range, ICE, STUN/TURN',
  'pbx_config.so': 'extensions.conf: the dialplan (contexts endpoints point at)',
  http: 'http.conf: the HTTP/WebSocket server (a changed bind drops the ARI and WebSocket clients)',
} as const;

export type ReloadModule = keyof typeof RELOAD_MODULES;
export const RELOAD_MODULE_NAMES = Object.keys(RELOAD_MODULES) as ReloadModule[];
export const DEFAULT_RELOAD_MODULE: ReloadModule = 'res_pjsip.so';

export function isReloadModule(name: string): name is ReloadModule {
  return Object.prototype.hasOwnProperty.call(RELOAD_MODULES, name);
}

/**
 * The module of a reload request body: absent/empty body → the default; `{"module": "<allowlisted>"}`.
 * Anything else is a `BadRequestError` saying why (not JSON, unknown keys, wrong type, module not
 * allowlisted).
 */
export function parseReloadBody(body: unknown): ReloadModule {
  if (body === NON_JSON_BODY)
    throw new BadRequestError(`${NON_JSON_MESSAGE}, like {"module":"res_pjsip.so"}`);
  if (body === undefined || body === null || body === '') return DEFAULT_RELOAD_MODULE;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError('body must be a JSON object like {"module":"res_pjsip.so"}');
  }
  const map = body as Record<string, unknown>;
  const unknown = Object.keys(map).filter((k) => k !== 'module');
  if (unknown.length > 0) {
    throw new BadRequestError(
      `unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}: only "module" is accepted`,
    );
  }
  const module = map.module;
  if (module === undefined) return DEFAULT_RELOAD_MODULE;
  if (typeof module !== 'string') throw new BadRequestError('"module" must be a string');
  if (!isReloadModule(module)) {
    // The rejected name is not echoed: it is caller input and may be anything.
    throw new BadRequestError(`module not allowed; allowed modules: ${RELOAD_MODULE_NAMES.join(', ')}`);
  }
  return module;
}
