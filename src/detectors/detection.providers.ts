import { Logger, type Provider } from '@nestjs/common';
import { REGISTRATION_READER, type RegistrationReader } from '../state/registrations/registration.views';
import { type Clock, DETECTION_CLOCK, EMPTY_REGISTRATION_READER } from './detection.common';

/**
 * Injection token of the registration reader the detectors use: the `REGISTRATION_READER` when the
 * registration store provides one, else a reader that knows nothing (logged once), so that the daemon
 * still boots and counts failures under `<unknown>`.
 */
export const DETECTION_READER = Symbol('DETECTION_READER');

export const DETECTION_PROVIDERS: Provider[] = [
  { provide: DETECTION_CLOCK, useValue: ((): number => Date.now()) satisfies Clock },
  {
    provide: DETECTION_READER,
    inject: [{ token: REGISTRATION_READER, optional: true }],
    useFactory: (reader?: RegistrationReader): RegistrationReader => {
      if (reader) return reader;
      new Logger('DetectorsModule').warn(
        'no registration store (REGISTRATION_READER) is provided: endpoints count as <unknown> and ' +
          'aor_not_found alerts cannot explain the configuration',
      );
      return EMPTY_REGISTRATION_READER;
    },
  },
];

/** Sweep period of a detector: often enough for its shortest timeout, at most once a second. */
export function sweepIntervalMs(...timeoutsMs: number[]): number {
  return Math.min(1000, Math.max(50, Math.floor(Math.min(...timeoutsMs) / 4)));
}
