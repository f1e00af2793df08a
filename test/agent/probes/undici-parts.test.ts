import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, errors } from 'undici';
import UndiciAgent from 'undici/lib/dispatcher/agent.js';
import undiciErrors from 'undici/lib/core/errors.js';

// The prober imports these two undici modules directly (agent/probes/http-client.ts): an
// undici upgrade that moves them must fail here, not in an agent.
test('the undici modules the prober imports are the package index\'s own Agent and errors', () => {
  assert.equal(UndiciAgent, Agent);
  assert.equal(undiciErrors.UndiciError, errors.UndiciError);
  assert.equal(undiciErrors.ConnectTimeoutError, errors.ConnectTimeoutError);
  assert.equal(undiciErrors.HeadersTimeoutError, errors.HeadersTimeoutError);
  assert.equal(undiciErrors.RequestAbortedError, errors.RequestAbortedError);
  assert.equal(undiciErrors.HTTPParserError, errors.HTTPParserError);
});
