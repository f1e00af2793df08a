import { loadCoordinatorConfig } from '../shared/config/coordinator-config.js';
import { createLogger } from '../shared/logger.js';
import { startCoordinator } from '../coordinator/main.js';
import { parseCommandArgs, usageError } from './args.js';
import { LOG_FORMAT_HELP, logFormatOption } from './log-format.js';
import { version } from './version.js';
import { systemClock } from '../shared/clock.js';
import { sdNotifierFromEnv } from '../shared/systemd/notify.js';
import { announceDaemon } from '../shared/systemd/watchdog.js';

const HELP = `usage: llm-health coordinator -c FILE [--log-format json|pretty]

Runs the coordinator daemon: the agent WebSocket (/agent), the HTTP API (/api/v1/...),
/healthz and the status page, on the config's \`listen\` address.
With a \`tls\` section it serves https:// and wss:// instead; SIGHUP re-reads the
certificate, key and CA files without dropping connections.
SIGTERM or SIGINT stops it cleanly (exit 0).

${LOG_FORMAT_HELP}`;

export async function coordinatorMain(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('coordinator', argv, {
    config: { type: 'string', short: 'c' },
    'log-format': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.config) throw usageError(`coordinator: -c FILE is required\n${HELP}`);

  const format = logFormatOption('coordinator', values['log-format']);
  const config = loadCoordinatorConfig(values.config);
  const logger = createLogger({ name: 'coordinator', level: config.log.level, file: config.log.file, format });
  const running = await startCoordinator(config, { logger, version });
  logger.info({ url: running.url, agentUrl: `${running.url.replace(/^http/, 'ws')}/agent`, dataDir: config.dataDir, version }, 'listening');
  // Type=notify units: READY=1 once listening, WATCHDOG=1 only while ticks run and the store answers
  const daemon = await announceDaemon(sdNotifierFromEnv(), { clock: systemClock, logger, check: () => running.liveness() });

  // registered even without TLS: SIGHUP's default action would kill the coordinator
  const onHangup = () => void running.reloadTls();
  process.on('SIGHUP', onHangup);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
  process.off('SIGHUP', onHangup);
  logger.info({ signal }, 'shutting down');
  await daemon.stopping();
  await running.close();
  return 0;
}
