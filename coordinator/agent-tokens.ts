import { createHash, timingSafeEqual } from 'node:crypto';
import type { AgentTokenConfig } from '../shared/config/coordinator-config.js';

/**
 * Agent tokens and the agent ids each may speak for (docs/configuration.md, `auth.agentTokens`).
 * A token bound to ids (`{ token, agents: [gpu-a, "rack2-*"] }`) can only say `hello` as one of
 * them, so a stolen or misused host token cannot take over, or forge events for, another host.
 * A plain token (any id) is still accepted, with a warning at start.
 *
 * Tokens are compared the way TokenSet does it (coordinator/auth.ts): hashed first so the
 * compared buffers have one length, and every token compared without stopping at a match.
 */
export interface AgentGrant {
  /** where the token is configured, for logs: `auth.agentTokens[2]` (never the token) */
  readonly source: string;
  /** null: any agent id (a plain token) */
  readonly agents: readonly string[] | null;
  mayUse(agentId: string): boolean;
}

interface Entry {
  digest: Buffer;
  grant: AgentGrant;
}

export class AgentTokens {
  private readonly entries: readonly Entry[];

  constructor(tokens: readonly AgentTokenConfig[]) {
    this.entries = tokens.map((t) => ({ digest: digest(t.token), grant: grantOf(t) }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** Configured tokens that may speak for any agent id (warned about at start). */
  get unbound(): string[] {
    return this.entries.filter((e) => e.grant.agents === null).map((e) => e.grant.source);
  }

  /** The grant of a presented token, or null for a missing or unknown one. */
  authenticate(token: string | undefined): AgentGrant | null {
    const d = digest(token ?? '');
    let found: AgentGrant | null = null;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && found === null) found = e.grant;
    return token === undefined || token === '' ? null : found;
  }
}

function grantOf(t: AgentTokenConfig): AgentGrant {
  const globs = t.agents?.map(globMatcher) ?? null;
  return {
    source: t.source,
    agents: t.agents,
    mayUse: (agentId) => globs === null || globs.some((m) => m(agentId)),
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * `*` (any run of characters) and `?` (one character); everything else literal. Matched by
 * the classic two-pointer walk (backtracking only to the last `*`), so a pattern of many
 * stars costs at most pattern × id steps: no regular expression to go exponential.
 */
export function globMatcher(glob: string): (s: string) => boolean {
  return (s) => {
    let g = 0;
    let i = 0;
    let star = -1;
    let mark = 0;
    while (i < s.length) {
      if (g < glob.length && (glob[g] === '?' || glob[g] === s[i])) {
        g++;
        i++;
      } else if (g < glob.length && glob[g] === '*') {
        star = g++;
        mark = i;
      } else if (star >= 0) {
        g = star + 1;
        i = ++mark;
      } else return false;
    }
    while (g < glob.length && glob[g] === '*') g++;
    return g === glob.length;
  };
}
