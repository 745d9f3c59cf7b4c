/**
 * setupFilesAfterEnv of the integration project: each test file, and each test, starts on a sandbox
 * Asterisk that answers ARI (see ensureSandboxResponsive; ~10 ms when it does).
 */
import { ensureSandboxResponsive } from './sandbox';

beforeAll(() => ensureSandboxResponsive(), 180_000);
beforeEach(() => ensureSandboxResponsive(), 180_000);
