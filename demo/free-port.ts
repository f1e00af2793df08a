import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where picked ports start: above the well-known ports operators give real servers. */
const LOWEST = 10_000;
const TRIES = 200;
/** the first port of the kernel's ephemeral range, read once */
let ephemeralStart: number | undefined;

/**
 * A loopback port nobody listens on right now, below the kernel's ephemeral range. The demo
 * and the tests stop servers and start them again on the same port; a port from the
 * ephemeral range can be taken, in the moment it is free, as the source port of any outgoing
 * connection, and the restarted server then fails with EADDRINUSE (a second restart, a
 * flaky test). Never one already in `taken`, to which the port is added.
 */
export async function freePort(taken: Set<number> = new Set()): Promise<number> {
  const highest = (ephemeralStart ??= ephemeralLow()) - 1;
  if (highest - LOWEST >= TRIES) {
    for (let i = 0; i < TRIES; i++) {
      const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
      if (taken.has(port) || !(await canListen(port))) continue;
      taken.add(port);
      return port;
    }
  }
  // an unusual port range (or everything taken): let the kernel choose
  for (;;) {
    const port = await kernelPort();
    if (taken.has(port)) continue;
    taken.add(port);
    return port;
  }
}

/** The first port the kernel hands out to outgoing connections (32768 when unknown). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
