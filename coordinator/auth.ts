import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A set of bearer tokens checked in constant time. Both sides are hashed first so the
 * compared buffers always have the same length (timingSafeEqual requires it, and comparing
 * raw tokens would leak their lengths), and every configured token is compared without
 * stopping at a match. Raw tokens are not kept.
 */
export class TokenSet {
  private readonly digests: readonly Buffer[];

  /** `names`: per token, same order, what logs and the audit log call its holder (never the token). */
  constructor(
    tokens: readonly string[],
    private readonly names: readonly string[] = [],
  ) {
    this.digests = tokens.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  has(token: string | undefined): boolean {
    return this.indexOf(token) >= 0;
  }

  /** The matching token's name (its position when unnamed), or undefined when none matches. */
  nameOf(token: string | undefined): string | undefined {
    const i = this.indexOf(token);
    return i < 0 ? undefined : (this.names[i] ?? `token ${i + 1}`);
  }

  private indexOf(token: string | undefined): number {
    const d = digest(token ?? '');
    let found = -1;
    this.digests.forEach((t, i) => {
      if (timingSafeEqual(d, t) && found < 0) found = i;
    });
    return token === undefined || token === '' ? -1 : found;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(value);
  return m?.[1];
}
