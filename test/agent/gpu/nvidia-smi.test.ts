import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGpuReader, decodeThrottleReasons, gpuProblems, parseGpuCsv, parseNumber, readGpus, type GpuReaderState } from '../../../agent/gpu/nvidia-smi.js';
import { ErrorCode, LlmHealthError } from '../../../shared/errors.js';

// compiled to dist/test/agent/gpu/: the fixtures stay in the source tree
const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/nvidia-smi/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const THRESHOLDS = { temperatureWarn: 85, memoryWarnPercent: 98 };

describe('parseGpuCsv (recorded outputs)', () => {
  test('a healthy 8x H100 box', () => {
    const gpus = parseGpuCsv(fixture('h100x8-healthy.csv'));
    assert.equal(gpus.length, 8);
    assert.deepEqual(gpus[0], {
      index: 0,
      uuid: 'GPU-5b1c3e9a-6f0d-2c4e-9b7a-1d2e3f4a5b60',
      name: 'NVIDIA H100 80GB HBM3',
      utilizationPercent: 97,
      memoryUsedMiB: 74213,
      memoryTotalMiB: 81559,
      temperatureC: 61,
      powerDrawW: 642.18,
      powerLimitW: 700,
      eccUncorrected: 0,
      throttleReasons: [],
    });
    assert.deepEqual(gpus[2]!.throttleReasons, ['sw_power_cap']);
    assert.deepEqual(gpus[4]!.throttleReasons, ['gpu_idle']);
    assert.deepEqual(gpus.map((g) => g.index), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(gpus.flatMap((g) => gpuProblems(g, THRESHOLDS)), [], 'power cap and idle are not problems');
  });
  test('[N/A], [Not Supported] and N/A are null', () => {
    const [g4090, a10g, t4] = parseGpuCsv(fixture('mixed-na.csv'));
    assert.equal(g4090!.eccUncorrected, null);
    assert.deepEqual(g4090!.throttleReasons, []);
    assert.equal(a10g!.powerDrawW, null);
    assert.equal(a10g!.powerLimitW, null);
    assert.equal(a10g!.throttleReasons, null);
    assert.equal(a10g!.eccUncorrected, 0);
    assert.equal(t4!.utilizationPercent, null);
    assert.equal(t4!.temperatureC, null);
    assert.equal(t4!.eccUncorrected, null);
    assert.equal(t4!.throttleReasons, null);
    assert.equal(t4!.memoryUsedMiB, 1520);
    assert.deepEqual([g4090, a10g, t4].flatMap((g) => gpuProblems(g!, THRESHOLDS)), []);
  });
  test('garbage lines are skipped', () => {
    assert.deepEqual(parseGpuCsv('No devices were found\n\n'), []);
    assert.equal(parseGpuCsv(`${fixture('h100x8-healthy.csv')}\nsome, trailing, junk\n`).length, 8);
    assert.equal(parseNumber(' [Unknown Error] '), null);
    assert.equal(parseNumber('[GPU is lost]'), null);
    assert.equal(parseNumber('12.5'), 12.5);
  });
  test('throttle bitmask decoding', () => {
    assert.deepEqual(decodeThrottleReasons('0x0000000000000000'), []);
    assert.deepEqual(decodeThrottleReasons('0x0000000000000048'), ['hw_slowdown', 'hw_thermal_slowdown']);
    assert.deepEqual(decodeThrottleReasons('0x00000000000001FF'), [
      'gpu_idle', 'applications_clocks_setting', 'sw_power_cap', 'hw_slowdown', 'sync_boost',
      'sw_thermal_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown', 'display_clock_setting',
    ]);
    assert.deepEqual(decodeThrottleReasons('0x0000000000001004'), ['sw_power_cap', 'other_0x1000']);
    assert.equal(decodeThrottleReasons('[N/A]'), null);
    assert.equal(decodeThrottleReasons('Not Active'), null);
  });
  test('gpuProblems: temperature, memory, uncorrected ECC, hardware slowdown', () => {
    const [hot, capped] = parseGpuCsv(fixture('h100x2-problems.csv'));
    const p0 = gpuProblems(hot!, THRESHOLDS);
    assert.deepEqual(p0.map((p) => p.kind), ['temperature', 'memory', 'ecc', 'throttle']);
    assert.match(p0[0]!.detail, /^GPU 0: temperature 89°C \(warn at 85°C\)$/);
    assert.match(p0[1]!.detail, /99\.3% used/);
    assert.match(p0[2]!.detail, /2 uncorrected ECC/);
    assert.match(p0[3]!.detail, /hw_slowdown, hw_thermal_slowdown/);
    const p1 = gpuProblems(capped!, THRESHOLDS);
    assert.deepEqual(p1.map((p) => p.kind), ['memory', 'throttle']);
    assert.match(p1[1]!.detail, /hw_power_brake_slowdown$/);
    assert.equal(p1[0]!.uuid, capped!.uuid);
    assert.deepEqual(gpuProblems(hot!, { temperatureWarn: 95, memoryWarnPercent: 100 }).map((p) => p.kind), ['ecc', 'throttle']);
  });
});

describe('readGpus with a stand-in nvidia-smi first on PATH', () => {
  let dir: string;
  let emptyDir: string;
  let savedPath: string | undefined;
  const log = () => join(dir, 'calls.log');
  const calls = () => readFileSync(log(), 'utf8').trim().split('\n').filter(Boolean);

  /** Writes the stand-in; every call appends its argv to calls.log. */
  function standIn(body: string) {
    writeFileSync(join(dir, 'nvidia-smi'), `#!/bin/sh\necho "$*" >> '${log()}'\n${body}\n`, { mode: 0o755 });
    writeFileSync(log(), '');
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmh-nvsmi-'));
    emptyDir = mkdtempSync(join(tmpdir(), 'llmh-nvsmi-empty-'));
    savedPath = process.env.PATH;
    process.env.PATH = `${dir}:${savedPath ?? ''}`;
  });
  after(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
    rmSync(emptyDir, { recursive: true, force: true });
  });

  test('normal output: argv only, new field name, parsed readings', async () => {
    standIn(`cat '${join(FIXTURES, 'h100x8-healthy.csv')}'`);
    const gpus = await readGpus();
    assert.equal(gpus?.length, 8);
    const [argv] = calls();
    assert.equal(
      argv,
      '--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,power.limit,ecc.errors.uncorrected.volatile.total,clocks_event_reasons.active --format=csv,noheader,nounits',
    );
  });
  for (const stream of ['stderr', 'stdout'] as const) {
    test(`old driver (error on ${stream}): retried once with clocks_throttle_reasons, then remembered`, async () => {
      const redirect = stream === 'stderr' ? ' >&2' : '';
      standIn(`case "$*" in *clocks_event_reasons*) cat '${join(FIXTURES, 'old-driver-field-error.txt')}'${redirect}; exit 2;; esac\ncat '${join(FIXTURES, 'old-driver-a100x2.csv')}'`);
      const state: GpuReaderState = {};
      const first = await readGpus({ state });
      assert.equal(first?.length, 2);
      assert.deepEqual(first![0]!.throttleReasons, ['sw_power_cap']);
      assert.equal(state.throttleField, 'clocks_throttle_reasons.active');
      assert.equal(calls().length, 2);
      assert.match(calls()[1]!, /clocks_throttle_reasons\.active/);
      await readGpus({ state });
      assert.equal(calls().length, 3, 'the second read goes straight to the field that worked');
    });
  }
  test('createGpuReader keeps the field it learned', async () => {
    standIn(`case "$*" in *clocks_event_reasons*) cat '${join(FIXTURES, 'old-driver-field-error.txt')}' >&2; exit 2;; esac\ncat '${join(FIXTURES, 'old-driver-a100x2.csv')}'`);
    const reader = createGpuReader({ command: 'nvidia-smi' });
    await reader.read();
    await reader.read();
    assert.equal(calls().length, 3);
  });
  test('a driver that knows neither field is an error, not a loop', async () => {
    standIn(`echo 'Field "clocks_throttle_reasons.active" is not a valid field to query.'; case "$*" in *clocks_event*) echo 'Field "clocks_event_reasons.active" is not a valid field to query.';; esac; exit 2`);
    await assert.rejects(readGpus(), (err: unknown) => err instanceof LlmHealthError && err.code === ErrorCode.CommandFailed && /knows neither/.test(err.message));
    assert.equal(calls().length, 2);
  });
  test('absent binary: null, not an error', async () => {
    const saved = process.env.PATH;
    process.env.PATH = emptyDir;
    try {
      assert.equal(await readGpus(), null);
    } finally {
      process.env.PATH = saved;
    }
    assert.equal(await readGpus({ command: join(emptyDir, 'nvidia-smi') }), null);
    assert.equal(await readGpus({ command: 'llmh-no-such-nvidia-smi' }), null);
  });
  test('a hang is a timeout error, within the deadline', async () => {
    standIn('exec sleep 30');
    const started = Date.now();
    await assert.rejects(readGpus({ timeoutMs: 300 }), (err: unknown) => err instanceof LlmHealthError && err.code === ErrorCode.CommandTimeout);
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started}ms`);
  });
  test('a hang in a grandchild that keeps the pipe open still ends at the deadline', async () => {
    standIn('sleep 2; true');
    const started = Date.now();
    await assert.rejects(readGpus({ timeoutMs: 200 }), (err: unknown) => err instanceof LlmHealthError && err.code === ErrorCode.CommandTimeout);
    assert.ok(Date.now() - started < 3_500, `took ${Date.now() - started}ms`);
  });
  test('driver not loaded: a failure with what nvidia-smi said', async () => {
    standIn(`cat '${join(FIXTURES, 'driver-not-loaded.txt')}'; exit 9`);
    await assert.rejects(readGpus(), (err: unknown) => err instanceof LlmHealthError && err.code === ErrorCode.CommandFailed && /exit 9: NVIDIA-SMI has failed/.test(err.message));
  });
  test('exit 0 without GPU lines is a failure', async () => {
    standIn("echo 'No devices were found'");
    await assert.rejects(readGpus(), (err: unknown) => err instanceof LlmHealthError && /no GPU lines/.test(err.message));
  });
  test('a custom command name is used (GpuConfig.command)', async () => {
    writeFileSync(join(dir, 'my-smi'), `#!/bin/sh\ncat '${join(FIXTURES, 'mixed-na.csv')}'\n`, { mode: 0o755 });
    assert.equal((await readGpus({ command: 'my-smi' }))?.length, 3);
  });
});

describe('real nvidia-smi output (recorded on an H200, driver 580.159.04, CUDA 13.0)', () => {
  test('parses field for field; idle clocks are not a problem', () => {
    const gpus = parseGpuCsv(fixture('h200-real-driver-580.csv'));
    assert.deepEqual(gpus, [
      {
        index: 0,
        uuid: 'GPU-6553e414-8ab2-5332-7126-232956c2b60e',
        name: 'NVIDIA H200',
        utilizationPercent: 0,
        memoryUsedMiB: 0,
        memoryTotalMiB: 143771,
        temperatureC: 43,
        powerDrawW: 102.1,
        powerLimitW: 700,
        eccUncorrected: 0,
        throttleReasons: ['gpu_idle'],
      },
    ]);
    assert.deepEqual(gpuProblems(gpus[0]!, THRESHOLDS), []);
  });
});
