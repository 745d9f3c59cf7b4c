import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GatewayWsAdapter } from './gateway/gateway.ws-adapter';
import { setupOpenApi } from './api/openapi';
import { AppModule } from './app.module';
import { createLogger } from './common/logger';
import { loadConfigOrExit } from './config/config.cli';
import { ShutdownState } from './health/shutdown.state';

/** A graceful shutdown that has not finished by then is cut short (orchestrators wait ~5 s+). */
const SHUTDOWN_DEADLINE_MS = 4500;

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(process.argv.slice(2), process.env);
  // Before anything logs: every `new Logger(...)` in the app writes through this one.
  const appLogger = createLogger(config.log, process.stdout);
  Logger.overrideLogger(appLogger);
  const logger = new Logger('pbxpulse');
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: appLogger });
  app.useWebSocketAdapter(new GatewayWsAdapter(app));
  setupOpenApi(app);

  // Nest's own shutdown hooks re-raise the signal after closing (exit status 143); we want 0.
  const shutdown = app.get(ShutdownState);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shutdown.isShuttingDown) return;
    shutdown.begin();
    logger.log(`${signal} received: readiness is now 503, logging off and closing`);
    const deadline = setTimeout(() => {
      logger.error(`shutdown did not finish within ${SHUTDOWN_DEADLINE_MS} ms; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    app.close().then(
      () => {
        logger.log('stopped');
        process.exit(0);
      },
      (err: Error) => {
        logger.error(`error while shutting down: ${err.message}`, err.stack);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await app.listen(config.http.port, config.http.host);
  const nodes = config.nodes
    .map((n) => `${n.name} (AMI ${n.ami.host}:${n.ami.port}, ARI ${n.ari.url})`)
    .join(', ');
  logger.log(`listening on http://${config.http.host}:${config.http.port}; watching ${nodes}`);
}

bootstrap().catch((err: Error) => {
  new Logger('pbxpulse').error(`failed to start: ${err.message}`, err.stack);
  process.exit(1);
});
