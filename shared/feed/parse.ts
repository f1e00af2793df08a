import { Ajv, type ValidateFunction } from 'ajv';
import { PROTOCOL_AJV_OPTIONS } from '../protocol/ajv-options.js';
import { describeAjvError } from '../protocol/describe-error.js';
import { FEED_VERSION, type FeedServerMessage } from './messages.js';
import { feedMessageSchemas } from './schemas.js';

/** Validates a feed message (text of one frame); compiled once, on first use. */
export type FeedParse = { ok: true; msg: FeedServerMessage } | { ok: false; reason: string };

let validators: Map<string, ValidateFunction> | undefined;

function validator(type: string): ValidateFunction | undefined {
  validators ??= new Map(Object.entries(feedMessageSchemas).map(([k, s]) => [k, new Ajv(PROTOCOL_AJV_OPTIONS).compile(s)]));
  return validators.get(type);
}

export function parseFeedMessage(text: string): FeedParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return { ok: false, reason: 'no type' };
  if ((value as { v?: unknown }).v !== FEED_VERSION) return { ok: false, reason: `unsupported version (expected ${FEED_VERSION})` };
  const validate = validator(type);
  if (!validate) return { ok: false, reason: `unknown type ${JSON.stringify(type.slice(0, 32))}` };
  if (!validate(value)) return { ok: false, reason: describeAjvError(validate.errors?.[0]) };
  return { ok: true, msg: value as FeedServerMessage };
}
