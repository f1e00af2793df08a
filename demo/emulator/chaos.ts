/**
 * The two answers no real endpoint should give but broken proxies and corrupted servers do:
 * random bytes under a JSON content type, and a body far larger than any probe should read.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export const HUGE_BODY_BYTES = 50 * 1024 * 1024;
const HUGE_CHUNK = Buffer.alloc(64 * 1024, 0x61);

export function sendGarbage(res: ServerResponse): void {
  const bytes = randomBytes(randomInt(512, 4096));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
  res.end(bytes);
}

/**
 * Streams HUGE_BODY_BYTES without a content-length, honouring backpressure so a client that
 * stops reading (as a capped probe should) costs no memory, and stopping when it hangs up.
 */
export async function sendHuge(res: ServerResponse, signal: AbortSignal): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"data":"');
  let sent = 0;
  while (sent < HUGE_BODY_BYTES) {
    if (signal.aborted || res.destroyed) return;
    const flushed = res.write(HUGE_CHUNK);
    sent += HUGE_CHUNK.length;
    if (!flushed && !(await drained(res, signal))) return;
  }
  res.end('"}');
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onAbort);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = () => finish(true);
    const onAbort = () => finish(false);
    res.on('drain', onDrain);
    res.on('close', onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
