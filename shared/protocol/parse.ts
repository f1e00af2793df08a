import { Ajv, type ValidateFunction } from 'ajv';
import { PROTOCOL_AJV_OPTIONS } from './ajv-options.js';
import { CloseCode, DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION } from './constants.js';
import { describeAjvError } from './describe-error.js';
import type { AgentMessage, CoordinatorMessage } from './messages.js';
import { agentMessageSchemas, coordinatorMessageSchemas } from './schemas.js';

/**
 * Frame → message. Each failure has a stable code the receiver maps to a close code
 * (`closeCodeFor`) and a short reason safe to log: it names the offending path and rule,
 * never echoes the frame's content (frames come from the network and may carry anything).
 */

export type ParseFailureCode = 'too_large' | 'not_json' | 'invalid' | 'unknown_type' | 'unsupported_version';

export type ParseResult<T> = { ok: true; msg: T } | { ok: false; code: ParseFailureCode; reason: string };

export interface ParseOptions {
  /** frames larger than this are refused before decoding (default DEFAULT_MAX_FRAME_BYTES) */
  maxBytes?: number;
}

/** What `ws` hands a 'message' listener, plus plain strings. */
export type Frame = string | Uint8Array | ArrayBuffer | readonly Uint8Array[];

export function closeCodeFor(code: ParseFailureCode): CloseCode {
  switch (code) {
    case 'too_large':
      return CloseCode.TooLarge;
    case 'unknown_type':
      return CloseCode.UnknownType;
    case 'unsupported_version':
      return CloseCode.UnsupportedVersion;
    case 'not_json':
    case 'invalid':
      return CloseCode.InvalidFrame;
  }
}

/**
 * Validators by message type, compiled on first use with one dedicated Ajv instance: strict
 * (a typo in a schema fails the first time it is used — the protocol tests use every one),
 * no defaults (the wire carries what was sent, nothing added), first error only (allErrors on
 * hostile input is wasted work). Lazy because the agent needs only a few of them and every
 * compiled schema costs resident memory on each GPU host. Validators are reused read-only;
 * the `errors` property ajv sets is read synchronously right after each call.
 */
class ValidatorTable {
  private readonly compiled = new Map<string, ValidateFunction>();
  constructor(private readonly schemas: Readonly<Record<string, object>>) {}

  get(type: string): ValidateFunction | undefined {
    let v = this.compiled.get(type);
    if (v) return v;
    if (!Object.hasOwn(this.schemas, type)) return undefined;
    v = protocolAjv().compile(this.schemas[type]!);
    this.compiled.set(type, v);
    return v;
  }
}

let ajvInstance: Ajv | undefined;
function protocolAjv(): Ajv {
  return (ajvInstance ??= new Ajv(PROTOCOL_AJV_OPTIONS));
}

const validators = {
  agent: new ValidatorTable(agentMessageSchemas),
  coordinator: new ValidatorTable(coordinatorMessageSchemas),
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function frameBytes(frame: Frame): number {
  if (typeof frame === 'string') return Buffer.byteLength(frame, 'utf8');
  if (frame instanceof ArrayBuffer || ArrayBuffer.isView(frame)) return frame.byteLength;
  let n = 0;
  for (const part of frame) n += part.byteLength;
  return n;
}

function frameText(frame: Frame): string {
  if (typeof frame === 'string') return frame;
  if (frame instanceof ArrayBuffer || ArrayBuffer.isView(frame)) return utf8.decode(frame);
  return utf8.decode(Buffer.concat(frame as Uint8Array[]));
}

function parseWith<T>(frame: Frame, table: ValidatorTable, options: ParseOptions): ParseResult<T> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const bytes = frameBytes(frame);
  if (bytes > maxBytes) return { ok: false, code: 'too_large', reason: `frame of ${bytes} bytes exceeds the limit of ${maxBytes}` };

  let value: unknown;
  try {
    value = JSON.parse(frameText(frame));
  } catch {
    // V8's JSON.parse message quotes the input; the fixed reason keeps frame content out of logs.
    return { ok: false, code: 'not_json', reason: 'frame is not valid UTF-8 JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, code: 'invalid', reason: 'message must be a JSON object' };
  }
  const obj = value as Record<string, unknown>;

  // Version before type: a newer peer's new message types are a version problem, not a bug.
  if (!Object.hasOwn(obj, 'v') || typeof obj.v !== 'number' || !Number.isInteger(obj.v)) {
    return { ok: false, code: 'invalid', reason: 'missing or non-integer protocol version "v"' };
  }
  if (obj.v !== PROTOCOL_VERSION) {
    return { ok: false, code: 'unsupported_version', reason: `protocol version ${obj.v} is not supported (this end speaks ${PROTOCOL_VERSION})` };
  }
  if (!Object.hasOwn(obj, 'type') || typeof obj.type !== 'string') {
    return { ok: false, code: 'invalid', reason: 'missing or non-string message "type"' };
  }
  const type: string = obj.type;
  const validate: ValidateFunction | undefined = table.get(type);
  if (!validate) {
    return { ok: false, code: 'unknown_type', reason: `unknown message type ${JSON.stringify(type.slice(0, 32))}` };
  }
  if (!validate(obj)) return { ok: false, code: 'invalid', reason: `${type}: ${describeAjvError(validate.errors?.[0])}` };
  return { ok: true, msg: obj as T };
}

/** Coordinator side: one frame from an agent. */
export function parseAgentMessage(frame: Frame, options: ParseOptions = {}): ParseResult<AgentMessage> {
  return parseWith<AgentMessage>(frame, validators.agent, options);
}

/** Agent side: one frame from the coordinator. */
export function parseCoordinatorMessage(frame: Frame, options: ParseOptions = {}): ParseResult<CoordinatorMessage> {
  return parseWith<CoordinatorMessage>(frame, validators.coordinator, options);
}

/**
 * Checks an already-built message before sending it (tests, and the agent's spool when it
 * reloads events from disk). Returns null when valid, else the reason.
 */
/** The validator of one agent message type (the agent checks each event it makes: fit.ts). */
export function agentMessageValidator(type: AgentMessage['type']): ValidateFunction {
  return validators.agent.get(type)!;
}

export function checkAgentMessage(msg: AgentMessage): string | null {
  return checkWith(msg, validators.agent);
}

export function checkCoordinatorMessage(msg: CoordinatorMessage): string | null {
  return checkWith(msg, validators.coordinator);
}

function checkWith(msg: { type: string }, table: ValidatorTable): string | null {
  const type = String(msg.type);
  const validate: ValidateFunction | undefined = table.get(type);
  if (!validate) return `unknown message type ${JSON.stringify(type.slice(0, 32))}`;
  return validate(msg) ? null : `${type}: ${describeAjvError(validate.errors?.[0])}`;
}

/** The one encoding both ends use. */
export function encodeMessage(msg: AgentMessage | CoordinatorMessage): string {
  return JSON.stringify(msg);
}

