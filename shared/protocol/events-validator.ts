import type { ValidateFunction } from 'ajv';
import { validate } from './events-validator.generated.js';

/**
 * The `events` message validator, compiled ahead of time (scripts/gen-events-validator.mjs)
 * from the same schema and options parse.ts compiles the others with. Every agent event
 * passes it before it is logged or spooled (fit.ts), and the coordinator checks every events
 * frame with it (parse.ts): compiled at run time it kept ajv resident in every agent.
 */
export const validateEventsMessage = validate as unknown as ValidateFunction;
