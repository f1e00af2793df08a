/**
 * One request through the emulator: control routes first (they answer in every mode), then
 * the generic failure modes (hang, slow, garbage, huge), then the kind's own auth, loading
 * behaviour and routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequest, Exchange, sendJson, sleep } from './http.js';
import { DEFAULT_SLOW_DELAY_MS, type Engine } from './engine.js';
import type { KindSpec } from './kinds/index.js';
import { sendGarbage, sendHuge } from './chaos.js';
import { isEmulatorMode, type EmulatorMode } from './types.js';

export const CONTROL_PREFIX = '/__emulator/';

export interface ControlHooks {
  state(): Record<string, unknown>;
  /** called once the control answer has been written */
  setMode(mode: EmulatorMode, delayMs: number | undefined, answered: Promise<void>): void;
}

export function createDispatcher(engine: Engine, spec: KindSpec, control: ControlHooks) {
  return async function dispatch(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const x = new Exchange(req, res, signal);
    try {
      if (x.path.startsWith(CONTROL_PREFIX)) return await controlRoute(x, control);
      engine.requests++;
      const mode = engine.mode();
      // A hung server accepts the connection and never answers; close() destroys the socket.
      if (mode === 'hang' || mode === 'crash') return;
      if (mode === 'slow' && !(await sleep(engine.delayMs(DEFAULT_SLOW_DELAY_MS), signal))) return;
      if (mode === 'garbage') return sendGarbage(res);
      if (mode === 'huge') return await sendHuge(res, signal);
      if (spec.authorize && !spec.authorize(x)) return;
      if (engine.loading() && spec.whileLoading?.(x)) return;
      const handler = spec.routes[`${x.method} ${x.path}`];
      if (!handler) {
        const otherMethod = Object.keys(spec.routes).some((key) => key.slice(key.indexOf(' ') + 1) === x.path);
        return spec.notFound(x, otherMethod);
      }
      await handler(x);
    } catch (err) {
      if (signal.aborted || x.answered) return;
      if (err instanceof BadRequest) {
        if (x.path.startsWith(CONTROL_PREFIX)) return sendJson(res, 400, { error: err.message });
        return spec.errors.badRequest(x, err);
      }
      sendJson(res, 500, { error: `emulator error: ${(err as Error)?.message ?? String(err)}` });
    }
  };
}

async function controlRoute(x: Exchange, control: ControlHooks): Promise<void> {
  const route = `${x.method} ${x.path.slice(CONTROL_PREFIX.length)}`;
  if (route === 'GET state') return sendJson(x.res, 200, control.state());
  if (route !== 'POST mode') return sendJson(x.res, 404, { error: `no control route ${x.req.method} ${x.path}` });
  const body = await x.json();
  const { mode, delayMs } = body;
  if (!isEmulatorMode(mode)) throw new BadRequest(`mode must be one of the emulator modes, got ${JSON.stringify(mode)}`);
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !(delayMs >= 0))) throw new BadRequest('delayMs must be a non-negative number');
  const answered = new Promise<void>((resolve) => x.res.once('close', () => resolve()));
  sendJson(x.res, 200, { mode }, { connection: 'close' });
  control.setMode(mode, delayMs as number | undefined, answered);
}
