/**
 * The last lines of a log file, read backwards in chunks so a chatty server's
 * gigabyte log costs no more than the lines asked for.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const CHUNK = 64 * 1024;

/** Up to `n` last lines (without a trailing empty line); null when the file cannot be read. */
export function tailLines(path: string, n: number): string[] | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    if (n <= 0) return [];
    let pos = fstatSync(fd).size;
    const chunks: Buffer[] = [];
    let newlines = 0;
    // one more newline than lines wanted: the file's own trailing newline
    while (pos > 0 && newlines <= n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      chunks.unshift(buf);
      for (const byte of buf) if (byte === 0x0a) newlines++;
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    // the first line may be cut in the middle when we did not read from the start
    if (pos > 0 && lines.length > n) lines.shift();
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}
