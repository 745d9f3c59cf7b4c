/**
 * At most `max` UTF-16 units of `s`, cut between code points: a plain `slice` can keep the high half
 * of a surrogate pair (an emoji), which is not valid Unicode and comes out of JSON as `\ud83d`.
 */
export function cutAtCodePoint(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
