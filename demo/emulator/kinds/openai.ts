/**
 * A generic OpenAI-compatible server (LM Studio, LocalAI, a gateway...): only /v1/models and
 * /v1/chat/completions, OpenAI's error body everywhere, and an optional API key on every route.
 */
import type { Exchange } from '../http.js';
import { sendJson } from '../http.js';
import { modelList, serveChat, type OpenAiFlavor } from './openai-compat.js';
import { bearerMatches, type ErrorReplies, type KindFactory } from './spec.js';

const DECOY_MODEL = 'gpt-3.5-turbo';

function openAiError(x: Exchange, status: number, message: string, type: string, code: string | null = null): void {
  sendJson(x.res, status, { error: { message, type, param: null, code } });
}

export const openai: KindFactory = (engine) => {
  const errors: ErrorReplies = {
    badRequest: (x, err) => openAiError(x, 400, err.syntax ? `We could not parse the JSON body of your request. (${err.message})` : err.message, 'invalid_request_error'),
    modelNotFound: (x, model) => openAiError(x, 404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found'),
    genFailed: (x) => openAiError(x, 500, 'The server had an error while processing your request. Sorry about that!', 'server_error'),
  };
  const flavor: OpenAiFlavor = {
    errors,
    accepts: (requested) => requested === engine.model,
    answerModel: () => engine.model,
    chatStyle: () => ({ top: { system_fingerprint: 'fp_emulated', service_tier: 'default' }, message: { refusal: null } }),
  };
  const listed = () => (engine.mode() === 'model_missing' ? DECOY_MODEL : engine.model);
  const entry = (id: string) => ({ id, object: 'model', created: Math.floor(engine.startedAt / 1000), owned_by: 'system' });

  return {
    kind: 'openai',
    closedWhileLoading: false,
    errors,
    routes: {
      'GET /v1/models': (x) => sendJson(x.res, 200, modelList([entry(listed())])),
      'POST /v1/chat/completions': (x) => serveChat(x, engine, flavor),
    },
    notFound: (x) => {
      const id = /^\/v1\/models\/(.+)$/.exec(x.path)?.[1];
      if (x.method === 'GET' && id !== undefined) {
        const model = decodeURIComponent(id);
        return model === listed() ? sendJson(x.res, 200, entry(model)) : errors.modelNotFound(x, model);
      }
      openAiError(x, 404, `Invalid URL (${x.req.method} ${x.path})`, 'invalid_request_error');
    },
    whileLoading: (x) => {
      openAiError(x, 503, 'The model is loading. Please retry in a moment.', 'server_error', 'model_loading');
      return true;
    },
    authorize: (x) => {
      const key = engine.config.apiKey;
      if (!key || bearerMatches(x, key)) return true;
      const sent = x.req.headers.authorization;
      if (!sent) {
        openAiError(x, 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", 'invalid_request_error');
      } else {
        const shown = sent.replace(/^Bearer\s+/i, '');
        openAiError(x, 401, `Incorrect API key provided: ${shown.slice(0, 3)}${'*'.repeat(Math.max(0, shown.length - 7))}${shown.slice(-4)}.`, 'invalid_request_error', 'invalid_api_key');
      }
      return false;
    },
  };
};
