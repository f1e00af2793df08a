import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../shared/logger.js';
import { modeOf, withUmask } from '../helpers/umask.js';
import { GuardedDestination, type FileDestination } from '../../shared/log-destination.js';

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** A destination like sonic-boom in sync mode: a failed write is reported with an 'error' event. */
class FakeFile extends EventEmitter implements FileDestination {
  lines: string[] = [];
  destroyed = false;
  constructor(private readonly disk: { full: boolean; throws?: boolean }) {
    super();
  }
  write(line: string): boolean {
    if (this.disk.full) {
      if (this.disk.throws) throw enospc();
      this.emit('error', enospc());
      return false;
    }
    this.lines.push(line);
    return true;
  }
  flushSync(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

function setup(disk: { full: boolean; throws?: boolean }) {
  let now = 0;
  const opened: FakeFile[] = [];
  const trouble: [string | null, number][] = [];
  const dest = new GuardedDestination({
    open: () => {
      const f = new FakeFile(disk);
      opened.push(f);
      return f;
    },
    onTrouble: (err, dropped) => trouble.push([err ? (err.code ?? '?') : null, dropped]),
    retryMs: 5_000,
    now: () => now,
  });
  return { dest, opened, trouble, advance: (ms: number) => (now += ms) };
}

for (const throws of [false, true]) {
  test(`a full disk (${throws ? 'thrown' : "'error' event"}): nothing throws, one report, lines dropped and counted, a fresh file after retryMs`, () => {
    const disk = { full: false, throws };
    const { dest, opened, trouble, advance } = setup(disk);
    assert.equal(dest.write('a\n'), true);
    disk.full = true;
    dest.write('b\n');
    assert.deepEqual(trouble, [['ENOSPC', 1]]);
    assert.equal(opened[0]!.destroyed, true, 'the failed destination and its buffer are let go');
    advance(1_000);
    dest.write('c\n');
    dest.write('d\n');
    assert.equal(opened.length, 1, 'no reopen before retryMs');
    advance(5_000);
    dest.write('e\n'); // still full: a fresh destination fails again, quietly
    assert.equal(opened.length, 2);
    assert.equal(trouble.length, 1, 'reported once per failure streak');
    disk.full = false;
    advance(5_000);
    dest.write('f\n');
    assert.equal(opened.length, 3);
    assert.deepEqual(opened[2]!.lines, ['f\n']);
    assert.deepEqual(trouble, [['ENOSPC', 1], [null, 4]], 'b, c, d and e were dropped');
    assert.deepEqual(opened[0]!.lines, ['a\n']);
  });
}

test('a late error from an abandoned destination does not fail the fresh one', () => {
  const disk = { full: false };
  const { dest, opened, trouble, advance } = setup(disk);
  disk.full = true;
  dest.write('a\n');
  disk.full = false;
  advance(5_000);
  dest.write('b\n');
  opened[0]!.emit('error', enospc()); // e.g. its close failing later
  dest.write('c\n');
  assert.deepEqual(opened[1]!.lines, ['b\n', 'c\n']);
  assert.deepEqual(trouble, [['ENOSPC', 1], [null, 1]]);
});

test('a log file that cannot be opened at start-up is an error the caller sees', () => {
  assert.throws(
    () =>
      new GuardedDestination({
        open: () => {
          throw Object.assign(new Error("EACCES: permission denied, open '/var/log/x.log'"), { code: 'EACCES' });
        },
        onTrouble: () => {},
      }),
    /EACCES/,
  );
});

test('openLogFile: the log file is 0640 whatever the umask, its directory created', () =>
  withUmask(0o000, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmh-log-'));
    try {
      const file = join(dir, 'sub', 'coordinator.log');
      const logger = createLogger({ name: 'test', level: 'info', file, destination: new PassThrough() });
      logger.info('hello');
      logger.flush();
      assert.match(readFileSync(file, 'utf8'), /hello/);
      assert.equal(modeOf(file), '0640');
      assert.equal(modeOf(dirname(file)), '0750');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));
