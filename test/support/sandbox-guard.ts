/**
 * setupFilesAfterEnv of the integration project: each test file starts on a sandbox Asterisk that
 * answers ARI (see ensureSandboxResponsive).
 */
import { ensureSandboxResponsive } from './sandbox';

beforeAll(() => ensureSandboxResponsive(), 180_000);
