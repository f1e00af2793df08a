/**
 * A polkit rules file evaluated the way polkitd does: as a script in a fresh JavaScript
 * context whose only global is a minimal `polkit` object, then asked for decisions.
 */
import assert from 'node:assert/strict';
import { createContext, runInContext } from 'node:vm';

export type PolkitResult = 'yes' | 'no' | 'not_handled';
export type Decide = (actionId: string, details: Record<string, string>, user?: string) => PolkitResult;

export function loadPolkitRule(source: string): Decide {
  const rules: ((action: unknown, subject: unknown) => unknown)[] = [];
  const polkit = {
    Result: { YES: 'yes', NO: 'no', AUTH_ADMIN: 'auth_admin', AUTH_SELF: 'auth_self', NOT_HANDLED: 'not_handled' },
    addRule: (fn: (action: unknown, subject: unknown) => unknown) => rules.push(fn),
    addAdminRule: () => undefined,
    log: () => undefined,
  };
  runInContext(source, createContext({ polkit }), { filename: '50-llm-health.rules' });
  assert.equal(rules.length, 1, 'the file adds exactly one rule');
  return (id, details, user = 'llm-health') => {
    const action = { id, lookup: (k: string) => details[k] };
    const subject = { user, groups: [user], local: false, active: false, isInGroup: (g: string) => g === user, isInNetGroup: () => false };
    const res = rules[0]!(action, subject);
    return (res === undefined ? 'not_handled' : res) as PolkitResult;
  };
}

export const MANAGE_UNITS = 'org.freedesktop.systemd1.manage-units';
