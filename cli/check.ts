import { parseCommandArgs, usageError } from './args.js';
import { LOG_FORMAT_HELP, logFormatOption } from './log-format.js';
import { loadAgentConfig } from '../shared/config/agent-config.js';
import { parseDuration } from '../shared/duration.js';
import { createLogger } from '../shared/logger.js';
import { privilegeWarnings } from '../agent/privileges/installed.js';
import { systemClock } from '../shared/clock.js';
import { runCheck, formatCheckReport } from '../agent/check.js';
import { createProbeRuntime, createUnitControl } from '../agent/wiring.js';

const HELP = `usage: llm-health check -c agent.yaml [--no-restart] [--wait DURATION] [--json] [--log-format json|pretty]

Probes every service once (with its retries and deep probe), restarts failed units unless
--no-restart, optionally waits up to --wait for them to be healthy again, prints a summary.
Exit 0 when every service is healthy or degraded (or is again within --wait), 1 otherwise,
2 on a usage or configuration error.

${LOG_FORMAT_HELP}`;

export async function checkMain(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('check', argv, {
    config: { type: 'string', short: 'c' },
    'no-restart': { type: 'boolean' },
    wait: { type: 'string' },
    json: { type: 'boolean' },
    'log-format': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.config) throw usageError(`check: -c FILE is required\n${HELP}`);
  let waitMs = 0;
  if (values.wait !== undefined) {
    const w = parseDuration(values.wait);
    if (w === undefined) throw usageError(`check: --wait expects a duration like 30s or 2m, got ${JSON.stringify(values.wait)}`);
    waitMs = w;
  }
  const format = logFormatOption('check', values['log-format']);
  const config = loadAgentConfig(values.config);
  // stdout carries the report (JSON must stay parseable): logs go to stderr and the log file
  const logger = createLogger({ name: 'llm-health-check', level: config.log.level, file: config.log.file, destination: process.stderr, format });
  for (const warning of privilegeWarnings(config)) logger.warn(warning);
  const probes = createProbeRuntime({ clock: systemClock });
  try {
    const report = await runCheck(config, {
      restart: !values['no-restart'] && config.restart.enabled,
      waitMs,
      clock: systemClock,
      logger,
      probes,
      units: createUnitControl(config),
    });
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${formatCheckReport(report)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    await probes.close();
  }
}
