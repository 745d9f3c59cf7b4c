/**
 * At most `max` UTF-16 units of `s`, cut between code points: a plain `slice` can keep the high half
 * of a surrogate pair (an emoji), which is not valid Unicode and comes out of JSON as `\ud83d`.
 */
export function cutAtCodePoint(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** V8 copies substrings shorter than this; longer ones are views into their parent (`SlicedString`). */
const SLICE_MIN_LENGTH = 13;

/**
 * `s` as a string of its own, sharing no memory with the text it was cut from. V8 keeps a substring of 13
 * or more characters as a view into its parent, so one AMI header value kept in long-lived state pins its
 * whole frame: a contact URI kept 700 bytes of `ContactStatusDetail`, an endpoint's transport name its
 * `EndpointList` item. Adapters detach the values that state keeps; values that die with the event don't
 * need it (a copy costs about as much as parsing the header).
 */
export function detached(s: string): string;
export function detached(s: string | null): string | null;
export function detached(s: string | undefined): string | undefined;
export function detached(s: string | null | undefined): string | null | undefined {
  if (s === null || s === undefined || s.length < SLICE_MIN_LENGTH) return s;
  return Buffer.from(s, 'utf8').toString('utf8');
}
