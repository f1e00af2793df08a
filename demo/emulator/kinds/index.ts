import type { EmulatorKind } from '../types.js';
import type { KindFactory } from './spec.js';
import { llamacpp } from './llamacpp.js';
import { vllm } from './vllm.js';
import { tgi } from './tgi.js';
import { ollama } from './ollama.js';
import { sglang } from './sglang.js';
import { openai } from './openai.js';

export const KINDS = { llamacpp, vllm, tgi, ollama, sglang, openai } satisfies Record<EmulatorKind, KindFactory>;

export type { KindSpec, ErrorReplies } from './spec.js';
