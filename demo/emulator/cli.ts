/**
 * `llm-health emulate`: one emulated LLM server as its own process, so tests and the demo can
 * kill, restart and crash it like the real thing. Prints one JSON line when the port opens
 * (after a `starting` line when a load keeps the port closed for a while), runs until
 * SIGTERM/SIGINT (exit 0), and exits 1 when it "crashes". Like llama-server, an emulated
 * llama.cpp with generations in progress closes its port on the signal but exits only once
 * their clients have gone; a second signal ends it at once (exit 1).
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../../shared/duration.js';
import { startEmulator } from './index.js';
import { EMULATOR_KINDS, EMULATOR_MODES, isEmulatorKind, isEmulatorMode, type Emulator, type EmulatorOptions } from './types.js';

const USAGE = `usage: llm-health emulate --kind KIND [--port N] [options]

  --kind K                 ${EMULATOR_KINDS.join(' | ')}
  --port N                 port to listen on (default 0: ephemeral)
  --host H                 address to bind (default 127.0.0.1)
  --model M                served model name (default per kind)
  --load-time DUR          simulate model loading at start (inf / never: forever)
  --crash-after DUR        exit 1 this long after start
  --mode M                 ${EMULATOR_MODES.join(' | ')}
  --delay DUR              delay for slow / busy modes
  --metrics, --no-metrics  expose /metrics (default: vllm, tgi, sglang yes; llamacpp no)
  --vllm-metric-names old|new   gpu_cache_usage_perc (old) or kv_cache_usage_perc (new)
  --api-key K              require Authorization: Bearer K (openai, vllm)
  --slots N                generation slots; more requests queue (default: llamacpp, ollama 4; tgi 128; others 256)
  --tokens-per-second N    decode steps per second, one token for every busy slot each (default 2000)
  --no-vision              a text-only model: images are refused as the engine does (llamacpp 500,
                           vllm, sglang, ollama 400; tgi takes them as text)
  --bind-delay DUR         llamacpp with --load-time: port refused this long before "Loading model" (default 100ms)

Runtime control: POST /__emulator/mode {"mode":"gen_hang"}, GET /__emulator/state.`;

const OPTIONS = {
  kind: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  model: { type: 'string' },
  'load-time': { type: 'string' },
  'crash-after': { type: 'string' },
  mode: { type: 'string' },
  delay: { type: 'string' },
  metrics: { type: 'boolean' },
  'no-metrics': { type: 'boolean' },
  'vllm-metric-names': { type: 'string' },
  'api-key': { type: 'string' },
  slots: { type: 'string' },
  'tokens-per-second': { type: 'string' },
  vision: { type: 'boolean' },
  'no-vision': { type: 'boolean' },
  'bind-delay': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function duration(value: string | undefined, flag: string, allowForever = false): number | undefined {
  if (value === undefined) return undefined;
  if (allowForever && /^(inf|infinity|never)$/i.test(value.trim())) return Infinity;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`--${flag}: expected a duration like 500ms, 2s, 5m${allowForever ? ' or inf' : ''}, got ${JSON.stringify(value)}`);
  return ms;
}

function positive(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const ok = integer ? /^\d+$/.test(value) && n > 0 : /^\d+(\.\d+)?$/.test(value) && n > 0;
  if (!ok || !Number.isFinite(n)) throw new UsageError(`--${flag}: expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseEmulateArgs(argv: string[]): EmulatorOptions | 'help' {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true }>>['values'];
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (!isEmulatorKind(values.kind)) throw new UsageError(`--kind: expected one of ${EMULATOR_KINDS.join(', ')}, got ${JSON.stringify(values.kind ?? null)}`);
  if (values.mode !== undefined && !isEmulatorMode(values.mode)) throw new UsageError(`--mode: expected one of ${EMULATOR_MODES.join(', ')}, got ${JSON.stringify(values.mode)}`);
  let port = 0;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port: expected an integer 0..65535, got ${JSON.stringify(values.port)}`);
  }
  if (values.metrics && values['no-metrics']) throw new UsageError('--metrics and --no-metrics are mutually exclusive');
  if (values.vision && values['no-vision']) throw new UsageError('--vision and --no-vision are mutually exclusive');
  const names = values['vllm-metric-names'];
  if (names !== undefined && names !== 'old' && names !== 'new') throw new UsageError(`--vllm-metric-names: expected old or new, got ${JSON.stringify(names)}`);
  return {
    kind: values.kind,
    port,
    host: values.host,
    model: values.model,
    loadTimeMs: duration(values['load-time'], 'load-time', true),
    crashAfterMs: duration(values['crash-after'], 'crash-after'),
    mode: values.mode as EmulatorOptions['mode'],
    delayMs: duration(values.delay, 'delay'),
    metrics: values.metrics ? true : values['no-metrics'] ? false : undefined,
    vllmMetricNames: names,
    apiKey: values['api-key'],
    slots: positive(values.slots, 'slots', true),
    tokensPerSecond: positive(values['tokens-per-second'], 'tokens-per-second', false),
    vision: values.vision ? true : values['no-vision'] ? false : undefined,
    bindDelayMs: duration(values['bind-delay'], 'bind-delay'),
  };
}

function announce(event: 'starting' | 'listening', emulator: Emulator, model: string | undefined): void {
  const line = { event, kind: emulator.kind, port: emulator.port, pid: process.pid, url: emulator.url, ...(model ? { model } : {}) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export async function emulateMain(argv: string[]): Promise<number> {
  let options: EmulatorOptions | 'help';
  try {
    options = parseEmulateArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`llm-health emulate: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  let opened = false;
  let emulator: Emulator | undefined;
  const onListening = () => {
    if (opened || !emulator) return;
    opened = true;
    announce('listening', emulator, options.model);
  };
  // Keeps the process alive while the port is closed (a vLLM load): nothing else holds the loop.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    emulator = await startEmulator(options);
  } catch (err) {
    clearInterval(keepAlive);
    process.stderr.write(`llm-health emulate: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  const started = emulator;
  const exited = new Promise<number>((resolve) => {
    let signals = 0;
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      clearInterval(keepAlive);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(code);
    };
    const onSignal = () => {
      if (++signals === 1) return void started.terminate().then(() => finish(0));
      // llama-server: "Received second interrupt, terminating immediately." and exit(1)
      process.stderr.write('llm-health emulate: second signal, terminating immediately\n');
      void started.close().then(() => finish(1));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    started.on('crash', () => {
      process.stderr.write(`llm-health emulate: emulated ${options.kind} server crashed (exit 1)\n`);
      finish(1);
    });
  });
  // Announced only now: whoever reads the line may signal at once, and a signal that came
  // before the handlers (Node installs them lazily, in milliseconds) would kill the process.
  started.on('listening', onListening);
  if (started.listening) onListening();
  else announce('starting', started, options.model);
  return exited;
}
