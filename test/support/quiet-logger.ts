import { Logger } from '@nestjs/common';

// Tests assert on behaviour, not on log output: keep only errors on the console.
Logger.overrideLogger(['error']);
