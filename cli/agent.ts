import { parseCommandArgs, usageError } from './args.js';
import { LOG_FORMAT_HELP, logFormatOption } from './log-format.js';
import { loadAgentConfig } from '../shared/config/agent-config.js';
import { createLogger } from '../shared/logger.js';
import { privilegeWarnings } from '../agent/privileges/installed.js';
import { systemClock } from '../shared/clock.js';
import { version } from './version.js';
import { startAgentProcess } from '../agent/main.js';
import { sdNotifierFromEnv } from '../shared/systemd/notify.js';
import { announceDaemon } from '../shared/systemd/watchdog.js';

const HELP = `usage: llm-health agent -c agent.yaml [--log-format json|pretty]

Runs the agent daemon: probes every configured service continuously, restarts failed units
(flap-protected), reads GPU health, and logs every event as a JSON line (stdout and log.file).
With a coordinator section it also streams to the coordinator; without one it runs standalone.

${LOG_FORMAT_HELP}`;

export async function agentMain(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('agent', argv, {
    config: { type: 'string', short: 'c' },
    'log-format': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.config) throw usageError(`agent: -c FILE is required\n${HELP}`);
  const format = logFormatOption('agent', values['log-format']);
  const config = loadAgentConfig(values.config);
  const logger = createLogger({ name: 'llm-health-agent', level: config.log.level, file: config.log.file, format });
  for (const warning of privilegeWarnings(config)) logger.warn(warning);
  const running = await startAgentProcess(config, { clock: systemClock, logger, version });
  // Type=notify units: READY=1 now, WATCHDOG=1 only while the probe cycles turn
  const daemon = await announceDaemon(sdNotifierFromEnv(), { clock: systemClock, logger, check: () => running.agent.liveness() });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      void daemon
        .stopping()
        .then(() => running.stop())
        .then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
