import { BadRequestError } from '../common/errors';

/**
 * A control call's request body that was not JSON (a body sent without `Content-Type:
 * application/json`, which Express's JSON parser leaves unread). The parsers below refuse it with a
 * 400: before this marker existed, `text/plain` `hello` read as "no body" and reloaded `res_pjsip.so`.
 */
export const NON_JSON_BODY: unique symbol = Symbol('non-JSON body');

export const NON_JSON_MESSAGE = 'the body must be JSON, sent with Content-Type: application/json';

/** The body of a qualify call: none, or `{}` (it takes no parameters). */
export function parseQualifyBody(body: unknown): void {
  if (body === undefined) return;
  if (body === NON_JSON_BODY) throw new BadRequestError(`${NON_JSON_MESSAGE} (qualify takes none, or {})`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('qualify takes no body: send none, or {}');
  }
  if (Object.keys(body).length > 0) {
    throw new BadRequestError('qualify takes no parameters in its body: send none, or {}');
  }
}
