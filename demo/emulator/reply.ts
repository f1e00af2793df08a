/**
 * What the emulated model says: a short natural reply per kind (one word is one token, easy
 * to reason about in tests that check max_tokens), and filler beyond it for requests that
 * ignore the end-of-sequence token.
 */
import type { EmulatorKind } from './types.js';

const REPLIES: Record<EmulatorKind, string> = {
  llamacpp: 'Hello! This is an emulated llama.cpp server answering your prompt with a short reply.',
  vllm: 'Hello! This is an emulated vLLM server answering your prompt with a short reply.',
  tgi: 'Hello! This is an emulated text-generation-inference server answering your prompt.',
  ollama: 'Hello! This is an emulated Ollama server answering your prompt with a short reply.',
  sglang: 'Hello! This is an emulated SGLang server answering your prompt with a short reply.',
  openai: 'Hello! This is an emulated OpenAI-compatible server answering your prompt.',
};

const IMAGE_REPLY = 'The image shows a small square of solid colour on a plain background.';

/** A tiny story model rambles on once told to ignore EOS; any words will do. */
const FILLER = 'and then the little model kept on talking about its day'.split(' ');

export function naturalReply(kind: EmulatorKind, withImage: boolean): string[] {
  return (withImage ? IMAGE_REPLY : REPLIES[kind]).split(' ');
}

/** The natural reply, then filler, `count` tokens in all. */
export function extendedReply(natural: string[], count: number): string[] {
  const words = natural.slice(0, count);
  for (let i = 0; words.length < count; i++) words.push(FILLER[i % FILLER.length]!);
  return words;
}
