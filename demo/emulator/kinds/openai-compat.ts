/**
 * The OpenAI-compatible generation endpoints every kind carries, parameterised by the
 * kind's error bodies, model-name rules and response extras.
 */
import type { Exchange } from '../http.js';
import { BadRequest, sendJson } from '../http.js';
import type { Engine } from '../engine.js';
import {
  chatCompletionBody,
  estimateTokens,
  parseChatRequest,
  parseMaxTokens,
  streamChatCompletion,
  textCompletionBody,
  type ChatBodyStyle,
  type GenOk,
} from '../chat.js';
import type { ErrorReplies } from './spec.js';

export interface OpenAiFlavor {
  errors: ErrorReplies;
  /** whether the requested model name selects the served model (llama.cpp and TGI ignore it) */
  accepts(requested: string | undefined): boolean;
  /** the model name echoed in the answer */
  answerModel(requested: string | undefined): string;
  chatStyle?(out: GenOk): ChatBodyStyle;
  completionStyle?(out: GenOk): ChatBodyStyle;
  /** answers instead of generating (TGI's 429 while overloaded); true when it answered */
  refuse?(x: Exchange): boolean;
  /** where a generation that ignores EOS with no token limit stops: the context's end */
  contextLeft?(promptTokens: number): number;
  /**
   * The engine's 400 message for images sent to a text-only model (engine.config.vision
   * false); absent where the engine takes them anyway (TGI turns an image into prompt text).
   */
  textOnlyRefusal?(model: string): string;
}

export function modelAvailable(engine: Engine, requested: string | undefined, flavor: OpenAiFlavor): boolean {
  return engine.mode() !== 'model_missing' && flavor.accepts(requested);
}

export async function serveChat(x: Exchange, engine: Engine, flavor: OpenAiFlavor): Promise<void> {
  const chat = parseChatRequest(await x.json());
  if (!modelAvailable(engine, chat.model, flavor)) return flavor.errors.modelNotFound(x, chat.model ?? engine.model);
  if (flavor.refuse?.(x)) return;
  if (chat.images > 0 && !engine.config.vision && flavor.textOnlyRefusal) return flavor.errors.badRequest(x, new BadRequest(flavor.textOnlyRefusal(flavor.answerModel(chat.model))));
  const maxTokens = chat.maxTokens ?? (chat.ignoreEos ? flavor.contextLeft?.(chat.promptTokens) : undefined);
  const out = await engine.generate(x.signal, { ...chat, maxTokens });
  if (out.kind === 'aborted') return;
  if (out.kind === 'failed') return flavor.errors.genFailed(x);
  const model = flavor.answerModel(chat.model);
  if (chat.stream) return streamChatCompletion(x.res, model, out, chat.includeUsageInStream);
  sendJson(x.res, 200, chatCompletionBody(model, out, flavor.chatStyle?.(out)));
}

export async function serveCompletion(x: Exchange, engine: Engine, flavor: OpenAiFlavor, defaultMaxTokens: number): Promise<void> {
  const body = await x.json();
  const prompt = body['prompt'];
  const text = Array.isArray(prompt) ? prompt.join('') : prompt;
  if (typeof text !== 'string') throw new BadRequest("'prompt' must be a string or an array of strings");
  const model = body['model'];
  if (model !== undefined && typeof model !== 'string') throw new BadRequest("'model' must be a string");
  if (!modelAvailable(engine, model, flavor)) return flavor.errors.modelNotFound(x, model ?? engine.model);
  const maxTokens = parseMaxTokens(body['max_tokens'], 'max_tokens') ?? defaultMaxTokens;
  const out = await engine.generate(x.signal, { promptTokens: estimateTokens(text), maxTokens, ignoreEos: body['ignore_eos'] === true, images: 0 });
  if (out.kind === 'aborted') return;
  if (out.kind === 'failed') return flavor.errors.genFailed(x);
  sendJson(x.res, 200, textCompletionBody(flavor.answerModel(model), out, flavor.completionStyle?.(out)));
}

/** The `{"object":"list","data":[...]}` shape all OpenAI-compatible servers share. */
export function modelList(entries: Array<Record<string, unknown>>): Record<string, unknown> {
  return { object: 'list', data: entries };
}
