import { classifyHangup, isRtpTimeoutSignature, type HangupFacts } from './call.classification';

const facts = (over: Partial<HangupFacts>): HangupFacts => ({
  cause: 16,
  answered: true,
  softHangupFlags: 0,
  hangupRequestCause: null,
  dialStatus: null,
  pjsip: true,
  ...over,
});

describe('classifyHangup', () => {
  it.each<[string, Partial<HangupFacts>, string]>([
    [
      'RTP timeout: soft DEV flag + 44 on an answered PJSIP channel',
      { cause: 44, softHangupFlags: 1 | 16 },
      'rtp_timeout',
    ],
    ['44 without the DEV flag', { cause: 44, softHangupFlags: 16 }, 'failed'],
    [
      'DEV + 44 on a channel that never answered',
      { cause: 44, softHangupFlags: 1, answered: false },
      'failed',
    ],
    ['DEV + 44 on a non-PJSIP channel', { cause: 44, softHangupFlags: 1, pjsip: false }, 'failed'],
    [
      'Asterisk restart mid-call: soft SHUTDOWN flag, then 0',
      { cause: 0, softHangupFlags: 4 | 16 },
      'unknown',
    ],
    ['16 answered', { cause: 16 }, 'normal'],
    ['0 answered (BYE without Reason on Asterisk 22)', { cause: 0 }, 'normal'],
    ['31 answered', { cause: 31 }, 'normal'],
    ['17 busy', { cause: 17, answered: false }, 'busy'],
    ['18 no user response', { cause: 18, answered: false }, 'no_answer'],
    ['19 no answer', { cause: 19, answered: false }, 'no_answer'],
    ['21 rejected', { cause: 21, answered: false }, 'rejected'],
    ['16 unanswered (caller gave up)', { cause: 16, answered: false }, 'no_answer'],
    ['0 unanswered', { cause: 0, answered: false }, 'no_answer'],
    [
      '127 unanswered after the caller’s CANCEL',
      { cause: 127, answered: false, hangupRequestCause: 127 },
      'no_answer',
    ],
    [
      '127 unanswered, peer of a cancelled Dial',
      { cause: 127, answered: false, dialStatus: 'CANCEL' },
      'no_answer',
    ],
    ['127 unanswered, no CANCEL seen', { cause: 127, answered: false }, 'failed'],
    ['127 answered', { cause: 127 }, 'failed'],
    ['1 unallocated', { cause: 1, answered: false }, 'failed'],
    ['3 no route', { cause: 3, answered: false }, 'failed'],
    ['34 no circuit', { cause: 34, answered: false }, 'failed'],
    ['38 network out of order', { cause: 38 }, 'failed'],
    ['58 bearer capability not available', { cause: 58, answered: false }, 'failed'],
    ['31 unanswered', { cause: 31, answered: false }, 'unknown'],
    ['an odd cause', { cause: 81 }, 'unknown'],
  ])('%s', (_label, over, expected) => {
    expect(classifyHangup(facts(over))).toBe(expected);
  });

  it('the signature tests the DEV bit of the soft-hangup mask, not equality', () => {
    expect(isRtpTimeoutSignature(facts({ cause: 44, softHangupFlags: 1 }))).toBe(true);
    expect(isRtpTimeoutSignature(facts({ cause: 44, softHangupFlags: 17 }))).toBe(true);
    expect(isRtpTimeoutSignature(facts({ cause: 44, softHangupFlags: 16 }))).toBe(false);
  });
});
