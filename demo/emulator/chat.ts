/**
 * OpenAI-style request parsing and response bodies shared by every kind's
 * /v1/chat/completions: message validation (including image parts), token estimates, and the
 * chat.completion / text_completion bodies with the per-kind extras layered on top.
 */
import type { ServerResponse } from 'node:http';
import { BadRequest, randomHex } from './http.js';
import type { GenOutcome } from './engine.js';

export interface ChatRequest {
  model?: string;
  maxTokens?: number;
  /** llama.cpp, vLLM and SGLang accept ignore_eos on their OpenAI routes too */
  ignoreEos: boolean;
  stream: boolean;
  includeUsageInStream: boolean;
  promptTokens: number;
  images: number;
}

/** Roughly what a vision encoder adds per image; only the order of magnitude matters. */
const TOKENS_PER_IMAGE = 64;

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function parseChatRequest(body: Record<string, unknown>): ChatRequest {
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) throw new BadRequest("'messages' must be a non-empty array");
  let chars = 0;
  let images = 0;
  messages.forEach((message: unknown, i) => {
    if (typeof message !== 'object' || message === null) throw new BadRequest(`messages[${i}] must be an object`);
    const { role, content } = message as Record<string, unknown>;
    if (typeof role !== 'string') throw new BadRequest(`messages[${i}].role must be a string`);
    if (typeof content === 'string') {
      chars += content.length;
    } else if (Array.isArray(content)) {
      content.forEach((part: unknown, j) => {
        const where = `messages[${i}].content[${j}]`;
        if (typeof part !== 'object' || part === null) throw new BadRequest(`${where} must be an object`);
        const p = part as Record<string, unknown>;
        if (p['type'] === 'text') {
          if (typeof p['text'] !== 'string') throw new BadRequest(`${where}.text must be a string`);
          chars += p['text'].length;
        } else if (p['type'] === 'image_url') {
          const ref = p['image_url'];
          const url = typeof ref === 'string' ? ref : typeof ref === 'object' && ref !== null ? (ref as Record<string, unknown>)['url'] : undefined;
          if (typeof url !== 'string') throw new BadRequest(`${where}.image_url.url must be a string`);
          validateImageDataUri(url);
          images++;
        } else {
          throw new BadRequest(`${where}.type ${JSON.stringify(p['type'])} is not supported`);
        }
      });
    } else if (content !== null && content !== undefined) {
      throw new BadRequest(`messages[${i}].content must be a string or an array of content parts`);
    }
  });
  const model = body['model'];
  if (model !== undefined && typeof model !== 'string') throw new BadRequest("'model' must be a string");
  const streamOptions = body['stream_options'];
  return {
    model,
    maxTokens: parseMaxTokens(body['max_completion_tokens'] ?? body['max_tokens'], 'max_tokens'),
    ignoreEos: body['ignore_eos'] === true,
    stream: body['stream'] === true,
    includeUsageInStream: typeof streamOptions === 'object' && streamOptions !== null && (streamOptions as Record<string, unknown>)['include_usage'] === true,
    promptTokens: messages.length * 4 + estimateTokens(' '.repeat(chars)) + images * TOKENS_PER_IMAGE,
    images,
  };
}

/** Image parts in an OpenAI-style messages array, counted without validating anything else. */
export function countImageParts(body: Record<string, unknown>): number {
  const messages = body['messages'];
  if (!Array.isArray(messages)) return 0;
  let images = 0;
  for (const message of messages) {
    const content = typeof message === 'object' && message !== null ? (message as Record<string, unknown>)['content'] : undefined;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      if (typeof part === 'object' && part !== null && (part as Record<string, unknown>)['type'] === 'image_url') images++;
    }
  }
  return images;
}

export function parseMaxTokens(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new BadRequest(`${name} must be at least 1, got ${JSON.stringify(value)}.`);
  }
  return value;
}

const IMAGE_MAGIC: Array<[string, number[]]> = [
  ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['jpeg', [0xff, 0xd8, 0xff]],
  ['gif', [0x47, 0x49, 0x46, 0x38]],
];

/** The bytes an image decoder would accept (PNG, JPEG, GIF, WebP); anything else is a 400. */
export function validateImageBytes(bytes: Buffer): void {
  const isWebp = bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP';
  if (isWebp) return;
  for (const [, magic] of IMAGE_MAGIC) {
    if (bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b)) return;
  }
  throw new BadRequest('Failed to load image: the data is not a PNG, JPEG, GIF or WebP image');
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeBase64Image(data: string): Buffer {
  const compact = data.replace(/\s+/g, '');
  if (!compact || compact.length % 4 === 1 || !BASE64_RE.test(compact)) throw new BadRequest('Failed to decode image: invalid base64 data');
  const bytes = Buffer.from(compact, 'base64');
  validateImageBytes(bytes);
  return bytes;
}

/**
 * Only data URIs: the emulator has no network to fetch http(s) image URLs from, and the
 * probes send embedded images anyway.
 */
export function validateImageDataUri(url: string): void {
  const m = /^data:image\/[\w.+-]+;base64,(.*)$/s.exec(url);
  if (!m) throw new BadRequest('Invalid image_url.url: expected a data:image/...;base64, URI');
  decodeBase64Image(m[1]!);
}

export type GenOk = Extract<GenOutcome, { kind: 'ok' }>;

export interface ChatBodyStyle {
  idPrefix?: string;
  /** fields added at the top level (system_fingerprint, timings, prompt_logprobs ...) */
  top?: Record<string, unknown>;
  /** fields added to choices[0] (stop_reason, matched_stop ...) */
  choice?: Record<string, unknown>;
  /** fields added to choices[0].message (reasoning_content, tool_calls ...) */
  message?: Record<string, unknown>;
  usage?: Record<string, unknown>;
}

export function usageOf(out: GenOk): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: out.promptTokens, completion_tokens: out.completionTokens, total_tokens: out.promptTokens + out.completionTokens };
}

export function chatCompletionBody(model: string, out: GenOk, style: ChatBodyStyle = {}): Record<string, unknown> {
  return {
    id: `${style.idPrefix ?? 'chatcmpl-'}${randomHex(12)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: out.text, ...style.message },
        logprobs: null,
        finish_reason: out.finishReason,
        ...style.choice,
      },
    ],
    usage: { ...usageOf(out), ...style.usage },
    ...style.top,
  };
}

export function textCompletionBody(model: string, out: GenOk, style: ChatBodyStyle = {}): Record<string, unknown> {
  return {
    id: `cmpl-${randomHex(12)}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, text: out.text, logprobs: null, finish_reason: out.finishReason, ...style.choice }],
    usage: { ...usageOf(out), ...style.usage },
    ...style.top,
  };
}

/** Server-sent events the way OpenAI streams a chat completion: one delta per token, then [DONE]. */
export function streamChatCompletion(res: ServerResponse, model: string, out: GenOk, includeUsage: boolean): void {
  const id = `chatcmpl-${randomHex(12)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null, usage?: unknown) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(chunk({ role: 'assistant', content: '' }, null));
  out.tokens.forEach((token, i) => res.write(chunk({ content: i === 0 ? token : ` ${token}` }, null)));
  res.write(chunk({}, out.finishReason));
  if (includeUsage) res.write(chunk({}, null, usageOf(out)));
  res.end('data: [DONE]\n\n');
}
