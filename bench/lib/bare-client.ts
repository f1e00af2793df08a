/**
 * The least a Node.js process can do at the agent's pace: GET each URL given on the command
 * line once a second over undici's keep-alive pool, and nothing else: no rounds, no state,
 * no PID watch. Run with the agent's V8 flags and the agent unit's environment, its CPU per
 * request is the floor any Node.js prober pays on this machine, the reference the
 * whole-process figure of `probe-cost` is read against.
 *
 *   node dist/bench/lib/bare-client.js URL...
 */
import { runOnInterpreter } from '../../agent/v8-flags.js';

runOnInterpreter();
const { Agent, request } = await import('undici');

const urls = process.argv.slice(2);
if (urls.length === 0) {
  console.error('usage: bare-client URL...');
  process.exit(2);
}
const pool = new Agent({ keepAliveTimeout: 4_000 });
const get = async (url: string) => {
  const res = await request(url, { dispatcher: pool });
  await res.body.text();
};
setInterval(() => {
  for (const url of urls) get(url).catch((err: Error) => console.error(`${url}: ${err.message}`));
}, 1_000);
