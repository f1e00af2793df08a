import type { ServiceConfig, ServiceKind } from '../../shared/config/agent-config.js';
import { createHttpProbe } from './http.js';
import { createLlamacppProbe } from './llamacpp.js';
import { createOllamaProbe } from './ollama.js';
import { createOpenAiProbe } from './openai.js';
import { createSglangProbe } from './sglang.js';
import { createTcpProbe } from './tcp.js';
import { createTgiProbe } from './tgi.js';
import type { Probe, ProbeDeps, ProbeFactory } from './types.js';
import { createVllmProbe } from './vllm.js';

/** One line per kind; `satisfies` makes a new ServiceKind without a probe a compile error. */
export const probeFactories = {
  llamacpp: createLlamacppProbe,
  vllm: createVllmProbe,
  tgi: createTgiProbe,
  ollama: createOllamaProbe,
  sglang: createSglangProbe,
  openai: createOpenAiProbe,
  http: createHttpProbe,
  tcp: createTcpProbe,
} satisfies Record<ServiceKind, ProbeFactory>;

export function createProbe(service: ServiceConfig, deps: ProbeDeps): Probe {
  return probeFactories[service.kind](service, deps);
}
