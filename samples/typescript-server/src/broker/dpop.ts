// samples/typescript-server — DPoP proofs at a resource server (RFC 9449 §4.3, §7), what Broker.Validation does in C#:
// jose verifies the proof's signature with the key in its own header, the rest are the RFC's checks written out.

import { createHash, timingSafeEqual } from 'node:crypto';
import { base64url, calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';

export interface DPoPOptions {
  /** The accepted proof algorithms, advertised in every DPoP challenge (`algs`, §7.1) and in the metadata. */
  algorithms: string[];
  /** How long after its `iat` a proof is accepted, in seconds (§11.1). */
  maxAgeSeconds: number;
  /** How far in the future a proof's `iat` may be, in seconds. */
  clockSkewSeconds: number;
  /** The most proofs remembered at once; when full, proofs are refused (fail closed) rather than forgotten early. */
  replayCapacity: number;
}

export const DefaultDPoPOptions: DPoPOptions = {
  algorithms: ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'],
  maxAgeSeconds: 60,
  clockSkewSeconds: 10,
  replayCapacity: 100_000,
};

/** `valid`, or why not: a bad proof, a good proof of another key than the token's, or a replay cache that cannot record. */
export type DPoPVerdict = 'valid' | 'invalid_proof' | 'key_mismatch' | 'unavailable';

const MaxProofLength = 8192;
const MaxJtiLength = 128;
const PrivateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Checks the proof of one request for a DPoP-bound token; remembers accepted proofs for their window (§11.1). */
export class DPoPVerifier {
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: DPoPOptions = DefaultDPoPOptions) {}

  get algorithms(): string {
    return this.options.algorithms.join(' ');
  }

  /**
   * @param proofs every value of the request's DPoP header
   * @param method the request's method
   * @param uri the request's URI as clients address it (public origin, then path); query and fragment are ignored
   * @param accessToken the token presented with the proof, whose hash `ath` must be
   * @param jkt the token's `cnf.jkt`
   */
  async verify(proofs: string[] | undefined, method: string, uri: string, accessToken: string, jkt: string): Promise<DPoPVerdict> {
    // §4.3 step 1: one header field; a proxy may join repeated fields with commas, and a JWS has none.
    const proof = proofs?.length === 1 ? proofs[0]! : undefined;
    if (!proof || proof.length > MaxProofLength || proof.includes(',')) return 'invalid_proof';

    // Steps 4, 5, 7 before the signature: typ exactly dpop+jwt, an accepted asymmetric alg, a public jwk.
    let header;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      return 'invalid_proof';
    }

    const jwk = header.jwk as Record<string, unknown> | undefined;
    if (header.typ !== 'dpop+jwt' || typeof header.alg !== 'string' || !this.options.algorithms.includes(header.alg)
      || typeof jwk !== 'object' || jwk === null || PrivateMembers.some((m) => m in jwk) || header.crit !== undefined) {
      return 'invalid_proof';
    }

    // Step 6: the signature, with the key the proof carries (jose refuses a jwk that is not a public key for alg).
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [header.alg] }));
    } catch {
      return 'invalid_proof';
    }

    // Step 3: the claims, well typed.
    const { jti, htm, htu, iat, ath } = payload as Record<string, unknown>;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MaxJtiLength || typeof htm !== 'string' || typeof htu !== 'string'
      || typeof iat !== 'number' || typeof ath !== 'string') {
      return 'invalid_proof';
    }

    // Steps 8, 9: the method (case-sensitive, RFC 9110 §9.1) and the URI, both normalised alike without query.
    if (htm !== method || normalize(htu) === undefined || normalize(htu) !== normalize(uri)) return 'invalid_proof';

    // Step 11 (§11.1): iat within the window.
    const now = Date.now() / 1000;
    if (iat < now - this.options.maxAgeSeconds || iat > now + this.options.clockSkewSeconds) return 'invalid_proof';

    // Step 12 (§7): ath is the hash of this very token, compared in constant time.
    if (!same(ath, base64url.encode(createHash('sha256').update(accessToken, 'utf8').digest()))) return 'invalid_proof';

    // Replay (§11.1), last: only a proof that passed everything else takes an entry, for as long as its iat is accepted.
    const thumbprint = await calculateJwkThumbprint(jwk as JWK, 'sha256');
    const replayKey = createHash('sha256').update(thumbprint + jti).digest('base64url');
    const nowMs = Date.now();
    for (const [key, expiry] of this.seen) {
      if (expiry > nowMs) break; // entries are added in expiry order
      this.seen.delete(key);
    }

    if (this.seen.has(replayKey)) return 'invalid_proof';
    if (this.seen.size >= this.options.replayCapacity) return 'unavailable';
    this.seen.set(replayKey, nowMs + (this.options.maxAgeSeconds + this.options.clockSkewSeconds + 1) * 1000);

    // Step 12, second half: the proof's key is the one the token is bound to.
    return same(thumbprint, jkt) ? 'valid' : 'key_mismatch';
  }
}

/** scheme://host[:port]/path, lower-case scheme and host, default port and dot segments removed (WHATWG URL). */
function normalize(uri: string): string | undefined {
  if (!URL.canParse(uri)) return undefined;
  const url = new URL(uri);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return undefined;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
