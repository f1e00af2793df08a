import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A set of bearer tokens checked in constant time. Both sides are hashed first so the
 * compared buffers always have the same length (timingSafeEqual requires it, and comparing
 * raw tokens would leak their lengths), and every configured token is compared without
 * stopping at a match. Raw tokens are not kept.
 */
export class TokenSet {
  private readonly digests: readonly Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  has(token: string | undefined): boolean {
    const d = digest(token ?? '');
    let found = false;
    for (const t of this.digests) found = timingSafeEqual(d, t) || found;
    return found && token !== undefined && token !== '';
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
