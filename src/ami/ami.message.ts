/**
 * One AMI frame (a response or an event), as parsed off the wire. Raw AMI never leaves `src/ami`:
 * the normaliser turns the interesting ones into internal events.
 */
export interface AmiMessage {
  /** Header values by name, case as Asterisk sent it. A repeated header keeps its first value here. */
  readonly fields: Record<string, string>;
  /** Headers that occurred more than once (`Output`, `ChanVariable` …): every value, in order. */
  readonly multi?: Record<string, string[]>;
}

/** Every value of a header, in order (`Output:` lines of a `Command` response, say). */
export function amiValues(msg: AmiMessage, key: string): string[] {
  const many = msg.multi?.[key];
  if (many) return many;
  const one = msg.fields[key];
  return one === undefined ? [] : [one];
}
