/**
 * `llm-health demo` (what `npm start` runs, README.md): a whole fleet on this one machine, with
 * no setup and no config files from the user.
 *
 *   - a temp dir holds everything (configs, SQLite, spools, logs, the stand-in's state);
 *   - a coordinator runs in this process (127.0.0.1:7700, or an ephemeral port if 7700 is taken);
 *   - three real agent processes (gpu-a, gpu-b, gpu-c) each watch the seed's fleet, emulated
 *     as units of the service-manager stand-in, so their restarts really restart the servers;
 *   - local Slack/Discord/webhook sinks print what they receive;
 *   - a chaos loop breaks something every ~20 s, and the fleet's story is printed as it
 *     happens: detect → restart → recover.
 *
 * Ctrl-C / SIGTERM / `--duration` stop everything (no process left behind) and remove the
 * temp dir unless `--keep`.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type RunningCoordinator } from '../coordinator/main.js';
import { parseCommandArgs, usageError } from '../cli/args.js';
import { version } from '../cli/version.js';
import { parseCoordinatorConfig } from '../shared/config/coordinator-config.js';
import { formatDuration, parseDuration } from '../shared/duration.js';
import { createLogger } from '../shared/logger.js';
import { allHealthy, Chaos } from './chaos.js';
import { HOST_IDS, killEverythingSync, layoutFleet, spawnAgents, startEmulators, stopAgents, stopEmulators, type AgentChild, type FleetLayout } from './fleet.js';
import { startSinks, type RunningSinks, type Sink } from './sinks.js';
import { clock, tellStory, type Story } from './story.js';

const HELP = `usage: llm-health demo [--port N] [--chaos-every DURATION | --no-chaos] [--duration DURATION] [--keep]

Runs a whole demo fleet on this machine: a coordinator with its dashboard, three agents
(gpu-a, gpu-b, gpu-c) and emulated LLM servers (llama.cpp Llama 3.2 Vision, vLLM Qwen2.5-VL
with a fallback, Ollama) run by a stand-in service manager, so restarts are real. A chaos
loop injects a failure now and then; the fleet detects, restarts and recovers, and every
event is printed. Ctrl-C stops everything.

  --port N                coordinator port (default 7700, or an ephemeral one if 7700 is
                          taken; 0 = ephemeral)
  --chaos-every DURATION  time between injected failures (default 20s)
  --no-chaos              inject nothing: just the healthy fleet
  --duration DURATION     stop by itself after this long (tests, CI)
  --keep                  keep the temp dir (configs, SQLite, logs) and print where`;

export const DEFAULT_PORT = 7700;
const DEFAULT_CHAOS_EVERY_MS = 20_000;
const AGENT_STOP_GRACE_MS = 5000;

interface DemoOptions {
  port: number | null;
  chaosEveryMs: number | null;
  durationMs: number | null;
  keep: boolean;
}

function parseDemoArgs(argv: string[]): DemoOptions | 'help' {
  const { values } = parseCommandArgs('demo', argv, {
    port: { type: 'string' },
    'chaos-every': { type: 'string' },
    'no-chaos': { type: 'boolean' },
    duration: { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  let port: number | null = null;
  if (values.port !== undefined) {
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) throw usageError(`demo: --port expects an integer from 0 to 65535, got ${JSON.stringify(values.port)}`);
    port = Number(values.port);
  }
  const dur = (flag: string, v: string | undefined): number | null => {
    if (v === undefined) return null;
    const ms = parseDuration(v);
    if (ms === undefined || ms <= 0) throw usageError(`demo: --${flag} expects a duration like 500ms, 20s or 5m, got ${JSON.stringify(v)}`);
    return ms;
  };
  const every = dur('chaos-every', values['chaos-every']);
  if (values['no-chaos'] && every !== null) throw usageError('demo: give --chaos-every or --no-chaos, not both');
  return {
    port,
    chaosEveryMs: values['no-chaos'] ? null : (every ?? DEFAULT_CHAOS_EVERY_MS),
    durationMs: dur('duration', values.duration),
    keep: values.keep ?? false,
  };
}

/** Thrown inside startup when a stop was requested meanwhile: clean up, exit 0. */
class Interrupted extends Error {}

export async function demoMain(argv: string[]): Promise<number> {
  const options = parseDemoArgs(argv);
  if (options === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
  const magenta = (s: string) => (color ? `\x1b[35m${s}\x1b[0m` : s);
  const print = (line: string) => {
    process.stdout.write(`${line}\n`);
  };
  const note = (line: string) => print(`[demo] ${line}`);

  const startedAt = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'llmh-demo-'));
  let layout: FleetLayout | undefined;
  let agents: AgentChild[] = [];
  let coordinator: RunningCoordinator | undefined;
  let sinks: RunningSinks | undefined;
  let story: Story | undefined;
  let chaos: Chaos | undefined;
  let coordLog: WriteStream | undefined;
  const timers: NodeJS.Timeout[] = [];
  let shuttingDown = false;
  let cleaned = false;

  // Last resort: whatever way this process ends, leave no emulator, supervisor or agent behind.
  const onExit = () => {
    if (cleaned) return;
    try {
      chaos?.stop();
    } catch {
      // best effort
    }
    killEverythingSync(layout, agents);
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  let requestStop: (why: string) => void = () => undefined;
  let stopReason: string | null = null;
  const stopped = new Promise<string>((resolve) => {
    requestStop = (why) => {
      if (stopReason !== null) return;
      stopReason = why;
      resolve(why);
    };
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopReason === null) {
      requestStop(signal === 'SIGINT' ? 'Ctrl-C' : signal);
      return;
    }
    // a second Ctrl-C while stopping: do not wait any longer
    process.stderr.write(`[demo] ${signal} again: killing everything now\n`);
    onExit();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const checkpoint = () => {
    if (stopReason !== null) throw new Interrupted(stopReason);
  };

  let code = 0;
  try {
    // --- sinks: where alerts will go once the alert pipeline exists
    sinks = await startSinks((line) => print(`${clock(Date.now())}  ${line}`));
    checkpoint();

    // --- coordinator, in this process
    // the agents' token, and the coordinator's line binding it to the demo's agent ids
    const tokenFile = join(dir, 'agent-token');
    const token = randomBytes(24).toString('base64url');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'agent-tokens'), `${token} ${HOST_IDS.join(' ')}\n`, { mode: 0o600 });
    // an admin token for trying the mutating commands (printed below: a local, throwaway demo)
    const adminToken = randomBytes(18).toString('base64url');
    writeFileSync(join(dir, 'admin-tokens'), `${adminToken}\n`, { mode: 0o600 });
    coordLog = createWriteStream(join(dir, 'coordinator.log'), { flags: 'a' });
    const logger = createLogger({ name: 'coordinator', level: 'info', destination: coordLog });
    const coordFile = join(dir, 'coordinator.yaml');
    const start = async (port: number): Promise<RunningCoordinator> => {
      const text = coordinatorYaml(port, sinks!.sinks);
      writeFileSync(coordFile, text);
      return startCoordinator(parseCoordinatorConfig(coordFile, text), { logger, version });
    };
    if (options.port !== null) {
      coordinator = await start(options.port);
    } else {
      try {
        coordinator = await start(DEFAULT_PORT);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        note(`port ${DEFAULT_PORT} is taken; the coordinator listens on an ephemeral port instead (--port N picks one)`);
        coordinator = await start(0);
      }
    }
    writeFileSync(coordFile, coordinatorYaml(coordinator.port, sinks.sinks)); // the port actually used, for --keep
    const base = `http://127.0.0.1:${coordinator.port}`;
    story = tellStory({ events: coordinator.store.events, fleet: coordinator.fleet, print, since: startedAt - 1000, color });
    checkpoint();

    // --- the fleet: emulated servers as stand-in units, then one agent process per host
    layout = await layoutFleet(dir, coordinator.port, tokenFile);
    await startEmulators(layout);
    checkpoint();
    agents = spawnAgents(layout, (a, exitCode, signal) => {
      if (!shuttingDown) note(`agent ${a.host.id} exited unexpectedly (${signal ?? `code ${exitCode}`}); its log: ${a.host.logFile}`);
    });

    // --- what to look at
    print('');
    print(bold(`llm-health demo ${version}: a coordinator, 3 agents and 12 emulated LLM servers on this machine`));
    print('');
    print(`Dashboard: ${base}/`);
    print(`Status:    npx llm-health status --url ${base}`);
    print(`           npx llm-health status --url ${base} --watch`);
    print(`Events:    ${base}/api/v1/events?since=0`);
    print(`Fleet:     ${base}/api/v1/fleet`);
    print('');
    print('Fleet (each host runs its own emulated servers; units of a stand-in systemctl):');
    for (const h of layout.hosts) {
      for (const s of h.services) {
        const extra = [s.fallback ? `fallback ${s.fallback.url}` : '', s.deepProbe ? 'deep probe with an image every 15s' : ''].filter(Boolean).join(', ');
        print(`  ${h.id}  ${s.name.padEnd(12)}  ${s.kind.padEnd(8)}  ${s.primary.url}  ${s.primary.unit}${extra ? `  (${extra})` : ''}`);
      }
    }
    print('');
    print('Alert receivers (each prints what it is sent). A failure pages only if it is still on after');
    print('groupWait (5 s), once per host and service; its recovery follows within groupInterval (30 s).');
    print('A failure fixed within 5 s (most crashes: the agent restarts them at once) pages no one:');
    for (const s of sinks.sinks) print(`  ${s.type.padEnd(8)}  ${s.url}`);
    print('');
    print(`Try, with this demo's admin token (export LLM_HEALTH_TOKEN=${adminToken}):`);
    print(`  npx llm-health restart --url ${base} --host ${HOST_IDS[1]} --max-parallel 1 --yes`);
    print(`  npx llm-health maintenance on --url ${base} --host ${HOST_IDS[2]} --for 10m --comment "trying maintenance"`);
    print(`  npx llm-health silence add --url ${base} --matcher host=${HOST_IDS[0]} --duration 30m --comment "trying silences"`);
    print('');
    print(options.chaosEveryMs === null ? 'Chaos: off (--no-chaos).' : `Chaos: one failure every ${formatDuration(options.chaosEveryMs)} (crash, hang, stuck loading, cannot generate, primary down).`);
    print(`Files: ${dir}${options.keep ? ' (kept after exit: --keep)' : ' (removed on exit; --keep keeps it)'}`);
    print('');
    print(bold('Ctrl-C to stop.'));
    print('');

    // --- the story, chaos, and the end
    const healthyWatch = setInterval(() => {
      if (coordinator && allHealthy(coordinator.fleet.view())) {
        clearInterval(healthyWatch);
        note(`all 9 services healthy, ${formatDuration(Date.now() - startedAt)} after start`);
      }
    }, 500);
    timers.push(healthyWatch);
    if (options.chaosEveryMs !== null) {
      const running = coordinator;
      chaos = new Chaos({ layout, view: () => running.fleet.view(), print, everyMs: options.chaosEveryMs, paint: magenta });
      chaos.start();
    }
    if (options.durationMs !== null) {
      const ms = options.durationMs;
      timers.push(setTimeout(() => requestStop(`--duration ${formatDuration(ms)} reached`), ms));
    }
    const why = await stopped;
    note(`${why}: stopping`);
  } catch (err) {
    if (err instanceof Interrupted) {
      note(`${err.message} during startup: stopping`);
    } else {
      process.stderr.write(`[demo] failed: ${(err as Error)?.stack ?? String(err)}\n`);
      code = 1;
    }
  } finally {
    shuttingDown = true;
    for (const t of timers) clearTimeout(t);
    const step = async (what: string, f: () => unknown): Promise<void> => {
      try {
        await f();
      } catch (err) {
        process.stderr.write(`[demo] while stopping ${what}: ${(err as Error).message}\n`);
        code = code || 1;
      }
    };
    await step('chaos', () => chaos?.stop());
    if (agents.length) note(`stopping agents (SIGTERM, SIGKILL after ${formatDuration(AGENT_STOP_GRACE_MS)})`);
    await step('agents', () => stopAgents(agents, AGENT_STOP_GRACE_MS));
    if (layout) note('stopping emulated servers');
    await step('emulated servers', () => layout && stopEmulators(layout));
    await step('event printer', async () => {
      await story?.flush();
      story?.stop();
    });
    await step('coordinator', () => coordinator?.close());
    await step('sinks', () => sinks?.close());
    await step('coordinator log', () => coordLog && new Promise<void>((resolve) => coordLog!.end(() => resolve())));
    if (options.keep) note(`kept ${dir} (configs, coordinator.log, gpu-*.log, services/logs, SQLite)`);
    else await step('temp dir', () => rmSync(dir, { recursive: true, force: true }));
    cleaned = true;
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    note(code === 0 ? 'stopped; nothing left running' : 'stopped, with errors');
    // nothing should keep the loop alive now; if something does, do not hang the terminal
    setTimeout(() => process.exit(process.exitCode ?? code), 3000).unref();
  }
  return code;
}

/** The coordinator's config (docs/configuration.md), written to the temp dir as an operator would. */
export function coordinatorYaml(port: number, sinks: readonly Sink[]): string {
  return [
    '# llm-health demo coordinator (written by `llm-health demo`)',
    `listen: 127.0.0.1:${port}`,
    'dataDir: ./coordinator-data',
    'auth:',
    '  agentTokenFile: ./agent-tokens',
    '  adminTokenFile: ./admin-tokens',
    'fleet:',
    '  agentLostAfter: 15s',
    '  heartbeatInterval: 2s',
    '# alerts go to the demo\'s local sinks, which print what a person would be sent',
    'alerts:',
    '  # per host: an outage on one host never waits behind another host\'s group',
    '  groupBy: [alertname, host, service]',
    '  groupWait: 5s',
    '  groupInterval: 30s',
    '  repeatInterval: 1h',
    'notify:',
    ...sinks.map((s) =>
      s.type === 'email'
        ? `  - { name: ${s.name}, type: email, smtp: { host: 127.0.0.1, port: ${new URL(s.url).port}, secure: false, ignoreTLS: true }, from: llm-health@demo.invalid, to: [oncall@demo.invalid] }`
        : `  - { name: ${s.name}, type: ${s.type}, url: '${s.url}' }`,
    ),
    '',
  ].join('\n');
}
