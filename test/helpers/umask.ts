import { statSync } from 'node:fs';

/** Runs `fn` under `mask` (0o000: every mode bit open(2) is given survives), then restores the umask. */
export async function withUmask<T>(mask: number, fn: () => T | Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

/** Permission bits of `file`, as an octal string for readable assertion messages. */
export function modeOf(file: string): string {
  return (statSync(file).mode & 0o777).toString(8).padStart(4, '0');
}
