import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newOperatorId } from '../../coordinator/ids.js';

test('ids operators type are 21 letters and digits: never a leading "-" that a command line reads as an option', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const id = newOperatorId();
    assert.match(id, /^[0-9A-Za-z]{21}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 10_000, 'no repeats');
});
