import type { AmiMessage } from './ami.message';

/** Why a frame was skipped. */
export type MalformedReason = 'oversized' | 'bad_header' | 'no_event_or_response';

export interface AmiParserHandlers {
  onMessage(msg: AmiMessage): void;
  onMalformed(reason: MalformedReason): void;
  /** The `Asterisk Call Manager/<version>` banner that opens every session. */
  onGreeting?(version: string): void;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const GREETING_PREFIX = 'Asterisk Call Manager/';

/**
 * Streaming AMI framer and parser. Works on bytes so that a UTF-8 character split across TCP chunks is
 * decoded whole: frames end at an ASCII `\r\n\r\n`, which never falls inside a multi-byte sequence.
 * A frame larger than `maxFrameBytes` is dropped as it streams in (memory stays bounded) and reported
 * once; so is a frame with a line that is not `Key: Value`. Neither stops the stream.
 */
export class AmiFrameParser {
  private pending: Buffer = Buffer.alloc(0);
  /** Where to resume searching for the terminator in `pending`. */
  private scanFrom = 0;
  private expectGreeting = true;
  /** Inside an oversized frame: discard until its terminator. */
  private discarding = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly handlers: AmiParserHandlers,
  ) {}

  /** Start a new session (a fresh connection sends a fresh greeting). */
  reset(): void {
    this.pending = Buffer.alloc(0);
    this.scanFrom = 0;
    this.expectGreeting = true;
    this.discarding = false;
  }

  push(chunk: Buffer): void {
    if (this.pending.length > 0 && !this.expectGreeting && !this.discarding) {
      // Join only the frame that straddles the two chunks, not the whole chunk to it: copying every
      // 64 kB chunk once more was ~6 % of the ingest path.
      const end = this.endOfPendingFrame(chunk);
      if (end > 0 && end < chunk.length) {
        const head = Buffer.concat([this.pending, chunk.subarray(0, end)]);
        this.pending = Buffer.alloc(0);
        this.scanFrom = 0;
        this.push(head);
        this.push(chunk.subarray(end));
        return;
      }
    }
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let start = 0;

    if (this.expectGreeting) {
      const eol = buf.indexOf('\r\n');
      if (eol < 0) {
        this.keep(buf, 0, 0);
        if (this.pending.length > this.maxFrameBytes) this.expectGreeting = false;
        return;
      }
      this.expectGreeting = false;
      const line = buf.toString('latin1', 0, Math.min(eol, 200));
      if (line.startsWith(GREETING_PREFIX)) {
        this.handlers.onGreeting?.(line.slice(GREETING_PREFIX.length).trim());
        start = eol + 2;
      }
    }

    let searchFrom = Math.max(start, this.scanFrom);
    for (;;) {
      const end = buf.indexOf(CRLF_CRLF, searchFrom);
      if (end < 0) break;
      if (this.discarding) {
        this.discarding = false;
      } else if (end - start > this.maxFrameBytes) {
        this.handlers.onMalformed('oversized');
      } else if (end > start) {
        this.parseFrame(buf.toString('utf8', start, end));
      }
      start = end + 4;
      searchFrom = start;
    }

    const rest = buf.length - start;
    if (rest > this.maxFrameBytes) {
      // Drop what we hold of a frame that is already too big, but keep its last 3 bytes: they may be
      // the start of the terminator.
      if (!this.discarding) this.handlers.onMalformed('oversized');
      this.discarding = true;
      buf = buf.subarray(buf.length - 3);
      start = 0;
    }
    this.keep(buf, start, Math.max(0, buf.length - start - 3));
  }

  /**
   * Where in `chunk` the frame held in `pending` ends (just past its terminator), or -1. The terminator
   * may begin in the last 3 bytes of `pending`, the part not yet searched.
   */
  private endOfPendingFrame(chunk: Buffer): number {
    const p = this.pending;
    for (let k = 3; k >= 1; k--) {
      if (
        p.length >= k &&
        chunk.length >= 4 - k &&
        p.subarray(p.length - k).equals(CRLF_CRLF.subarray(0, k)) &&
        chunk.subarray(0, 4 - k).equals(CRLF_CRLF.subarray(k))
      ) {
        return 4 - k;
      }
    }
    const i = chunk.indexOf(CRLF_CRLF);
    return i < 0 ? -1 : i + 4;
  }

  private keep(buf: Buffer, start: number, scanFrom: number): void {
    // Copy the tail so the pending bytes don't pin a large chunk in memory.
    this.pending = start >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(start));
    this.scanFrom = scanFrom;
  }

  private parseFrame(text: string): void {
    const fields: Record<string, string> = {};
    let multi: Record<string, string[]> | undefined;
    let pos = 0;
    const len = text.length;
    while (pos < len) {
      let eol = text.indexOf('\r\n', pos);
      if (eol < 0) eol = len;
      if (eol > pos) {
        const colon = text.indexOf(':', pos);
        if (colon <= pos || colon >= eol) {
          this.handlers.onMalformed('bad_header');
          return;
        }
        const key = text.slice(pos, colon);
        let vStart = colon + 1;
        while (vStart < eol && text.charCodeAt(vStart) === 32) vStart++;
        // Some Asterisk messages end their text in a bare LF before the CRLF ("No Contacts found\n").
        let vEnd = eol;
        while (vEnd > vStart && text.charCodeAt(vEnd - 1) === 10) vEnd--;
        const value = text.slice(vStart, vEnd);
        const prev = fields[key];
        if (prev === undefined) {
          fields[key] = value;
        } else {
          multi ??= {};
          const list = (multi[key] ??= [prev]);
          list.push(value);
        }
      }
      pos = eol + 2;
    }
    if (fields.Event === undefined && fields.Response === undefined) {
      this.handlers.onMalformed('no_event_or_response');
      return;
    }
    this.handlers.onMessage(multi ? { fields, multi } : { fields });
  }
}
