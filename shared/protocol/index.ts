/** The agent ↔ coordinator wire protocol (docs/protocol.md); see README.md in this folder. */
export * from './constants.js';
export * from './messages.js';
export * from './parse.js';
export { describeAjvError } from './describe-error.js';
export { eventSchema, agentMessageSchemas, coordinatorMessageSchemas, ISO_TIME_PATTERN } from './schemas.js';
