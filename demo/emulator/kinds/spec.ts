/**
 * What one emulated server kind provides: its route table and the error bodies its upstream
 * really sends. The dispatcher (server.ts) applies the generic modes; a kind only decides what
 * its own endpoints answer.
 */
import type { BadRequest, Exchange } from '../http.js';
import type { Engine } from '../engine.js';
import type { EmulatorKind } from '../types.js';

export type Handler = (x: Exchange) => Promise<void> | void;

/** Keyed by "METHOD /path" (HEAD is served by the GET route). */
export type Routes = Record<string, Handler>;

export interface ErrorReplies {
  badRequest(x: Exchange, err: BadRequest): void;
  modelNotFound(x: Exchange, model: string): void;
  genFailed(x: Exchange): void;
}

export interface KindSpec {
  readonly kind: EmulatorKind;
  /** vLLM and TGI do not bind their port until the model is up: loading = connection refused */
  readonly closedWhileLoading: boolean;
  /** llama.cpp initialises its backends before it binds: with a load time, refused for a moment first */
  readonly bindsLate?: boolean;
  /** llama.cpp on SIGTERM: port closed, decoding stopped, process alive until its clients go */
  readonly lingersOnTerminate?: boolean;
  readonly routes: Routes;
  readonly errors: ErrorReplies;
  notFound(x: Exchange, methodNotAllowed: boolean): void;
  /** answers what a loading server cannot serve yet; returns false to let the request through */
  whileLoading?(x: Exchange): boolean;
  /** answers 401 and returns false when the request lacks the API key */
  authorize?(x: Exchange): boolean;
}

export type KindFactory = (engine: Engine) => KindSpec;

export function bearerMatches(x: Exchange, apiKey: string): boolean {
  return x.req.headers.authorization === `Bearer ${apiKey}`;
}
