// samples/typescript-server — broker capability tokens for a resource server (what Broker.Validation does in C#).

import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { DPoPVerifier } from './dpop.js';
import type { RevokedGrants } from './revocations.js';

/** Who called, from a validated token. It holds no token. */
export interface BrokerCaller {
  grantId: string;
  subject: string;
  clientId: string;
  tenant: string;
  taskId: string;
  purpose: string;
  /** RFC 8693 §4.1 actor chain, the current actor first. */
  actors: string[];
  capabilities: ReadonlySet<string>;
  issuedAt: number;
  expiresAt: number;
  /** RFC 9449 cnf.jkt, checked against the request's proof; undefined for a bearer token. */
  keyThumbprint?: string;
}

/** What a request presents: its Authorization and DPoP headers, and its method and URI as clients address it. */
export interface PresentedRequest {
  authorization: string[] | undefined;
  dpop: string[] | undefined;
  method: string;
  /** The public origin (or the request's own) followed by the request's path. */
  uri: string;
}

/** The scheme a token came with: RFC 6750 Bearer or RFC 9449 DPoP. */
export type Scheme = 'Bearer' | 'DPoP';

export interface BrokerTokenOptions {
  /** The broker's issuer URL: the only URL fetched (RFC 8414 metadata, then the JWKS it names). */
  broker: string;
  /** This server's canonical URI (RFC 8707): every token's `aud`. */
  resource: string;
  /** Every token's `tenant`. */
  tenant: string;
  /** Every capability a tool needs, for the metadata's `scopes_supported`. */
  scopesSupported: string[];
  /** Refuse tokens while the revocation set is older than this (milliseconds). */
  maxStalenessMs: number;
  revocations: RevokedGrants;
  log: (event: string, fields?: Record<string, unknown>) => void;
}

export type TokenResult =
  | { kind: 'valid'; caller: BrokerCaller }
  | { kind: 'missing' }
  | { kind: 'invalid'; reason: Failure; scheme: Scheme }
  | { kind: 'unavailable' };

/** Fixed error_description texts (RFC 6750 §3): the same words as Broker.Validation, nothing from an exception. */
const Failures = {
  invalid: 'The token is not valid.',
  too_long: 'The token is too long.',
  malformed: 'The token is malformed.',
  algorithm: "The token's signing algorithm is not accepted.",
  type: 'The token is not an access token (typ at+jwt).',
  unknown_key: "The token's signing key is unknown.",
  signature: "The token's signature is not valid.",
  issuer: 'The token was not issued by the trusted broker.',
  audience: 'The token was not issued for this resource.',
  expired: 'The token has expired.',
  not_yet_valid: 'The token is not valid yet.',
  missing_claims: 'The token lacks required claims.',
  tenant: 'The token was issued for another tenant.',
  certificate_binding: 'The token is bound to a client certificate that was not presented.',
  unsupported_binding: 'The token is bound by a method this resource does not support.',
  revoked: "The token's grant has been revoked.",
  revocation_unknown: "The token's revocation status is not known.",
  dpop_proof: 'The DPoP proof is not valid.',
  dpop_key_mismatch: 'The DPoP proof is not signed with the key the token is bound to.',
  dpop_downgrade: 'The token is DPoP-bound: present it with the DPoP scheme and a proof.',
  not_dpop_bound: 'The token is not DPoP-bound: present it with the Bearer scheme.',
} as const;
export type Failure = keyof typeof Failures;

const MaxTokenLength = 8192;
const MaxActorDepth = 8;
const ClockToleranceSeconds = 30;
const FetchTimeoutMs = 10_000;
const MaxMetadataBytes = 1024 * 1024;

/** Validates the broker's capability tokens for one resource and tenant. */
export class BrokerTokens {
  readonly issuer: string;
  readonly resourceMetadataUrl: string;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private revocationEventsEndpoint: URL | undefined;
  private readonly dpop = new DPoPVerifier();

  constructor(private readonly options: BrokerTokenOptions) {
    const broker = new URL(options.broker);
    // The issuer as configured, without a lone trailing slash (the broker's issuer has none).
    this.issuer = broker.pathname === '/' ? broker.origin : options.broker;
    // RFC 9728 §3.1: the well-known suffix goes between the host and the resource's path.
    const resource = new URL(options.resource);
    this.resourceMetadataUrl = `${resource.origin}/.well-known/oauth-protected-resource${resource.pathname === '/' ? '' : resource.pathname}`;
  }

  /** True once the broker's metadata has been read: until then no token can be checked (503). */
  get ready(): boolean {
    return this.jwks !== undefined;
  }

  /** The feed endpoint the metadata named, once read. */
  get revocationEvents(): URL | undefined {
    return this.revocationEventsEndpoint;
  }

  /** Reads the broker's RFC 8414 metadata, retrying until it succeeds, then refreshes it hourly. */
  async start(): Promise<void> {
    for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        await this.discover();
        break;
      } catch (error) {
        this.options.log('broker-metadata-unavailable', { reason: reasonOf(error), retry_ms: delay });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }

    setInterval(() => this.discover().catch((error) => this.options.log('broker-metadata-unavailable', { reason: reasonOf(error) })), 3600_000).unref();
  }

  private async discover(): Promise<void> {
    const broker = new URL(this.issuer);
    const path = broker.pathname.replace(/\/$/, '');
    const response = await fetch(`${broker.origin}/.well-known/oauth-authorization-server${path}`, {
      redirect: 'error',
      signal: AbortSignal.timeout(FetchTimeoutMs),
      headers: { Accept: 'application/json' },
    });
    const text = await response.text();
    if (response.status !== 200 || text.length > MaxMetadataBytes) {
      throw new BrokerUnavailable(`the metadata answered HTTP ${response.status}`);
    }

    const metadata = JSON.parse(text) as Record<string, unknown>;
    // RFC 8414 §3.3: the document must name exactly the issuer we asked about.
    if (metadata.issuer !== this.issuer) {
      throw new BrokerUnavailable('the metadata names another issuer (RFC 8414 §3.3)');
    }

    // Keys, and the feed our own credential is sent to, only from the broker's origin.
    const jwksUri = sameOrigin(metadata.jwks_uri, broker);
    if (!jwksUri) {
      throw new BrokerUnavailable("the metadata's jwks_uri is missing or not on the broker's origin");
    }

    this.revocationEventsEndpoint = sameOrigin(metadata.revocation_events_endpoint, broker);
    this.jwks = createRemoteJWKSet(jwksUri, { timeoutDuration: FetchTimeoutMs });
    this.options.log('broker-metadata-fetched', { issuer: this.issuer });
  }

  /**
   * Checks the request's token: header only, Bearer or DPoP (RFC 9449 §7.1), ES256, at+jwt, issuer, audience, lifetime,
   * tenant, binding (a DPoP-bound token needs the DPoP scheme and a proof of its key), revocation.
   */
  async authenticate(request: PresentedRequest): Promise<TokenResult> {
    // RFC 6750 §2.1 header only (never the query string), exactly once; anything else is no token at all. Scheme
    // names are case-insensitive (RFC 9110 §11.1).
    const header = request.authorization?.length === 1 ? request.authorization[0]! : undefined;
    const scheme: Scheme | undefined = header && /^bearer /i.test(header) ? 'Bearer' : header && /^dpop /i.test(header) ? 'DPoP' : undefined;
    if (!header || !scheme) {
      return { kind: 'missing' };
    }

    const token = header.slice(scheme.length + 1).trim();
    if (token.length === 0) {
      return { kind: 'missing' };
    }

    const reject = (reason: Failure) => this.reject(reason, scheme);
    if (token.length > MaxTokenLength) {
      return reject('too_long');
    }

    if (!this.jwks) {
      return { kind: 'unavailable' };
    }

    // The algorithm allow-list before any key lookup: no "none", no HMAC (RFC 8725 §3.1), no JWKS refetch for a
    // token that could never verify.
    let protectedHeader;
    try {
      protectedHeader = decodeProtectedHeader(token);
    } catch {
      return reject('malformed');
    }

    if (protectedHeader.alg !== 'ES256') {
      return reject('algorithm');
    }

    if (typeof protectedHeader.kid !== 'string' || protectedHeader.kid.length === 0) {
      return reject('unknown_key');
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        algorithms: ['ES256'],
        typ: 'at+jwt', // RFC 9068 §4
        issuer: this.issuer,
        audience: this.options.resource, // RFC 8707: tokens for another resource are not ours to honour
        clockTolerance: ClockToleranceSeconds,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (error) {
      const failure = classify(error);
      return failure ? reject(failure) : this.unavailable(error);
    }

    return this.checkClaims(payload, scheme, token, request);
  }

  /** The broker's own claims (src/Broker/Tokens), the binding, then revocation. */
  private async checkClaims(payload: JWTPayload, scheme: Scheme, token: string, request: PresentedRequest): Promise<TokenResult> {
    const reject = (reason: Failure) => this.reject(reason, scheme);
    const text = (name: string) => (typeof payload[name] === 'string' && (payload[name] as string).length > 0 ? (payload[name] as string) : undefined);
    const [subject, clientId, grantId, tenant, taskId, purpose, scope] = ['sub', 'client_id', 'jti', 'tenant', 'task_id', 'purpose', 'scope'].map(text);
    if (!subject || !clientId || !grantId || !tenant || !taskId || !purpose || !scope || typeof payload.iat !== 'number' || typeof payload.exp !== 'number') {
      return reject('missing_claims');
    }

    // The tenant is the second lock on the same door: the audience already names this server.
    if (tenant !== this.options.tenant) {
      return reject('tenant');
    }

    // cnf (RFC 7800): nothing, or one member, x5t#S256 (RFC 8705) or jkt (RFC 9449), a string.
    const cnf = payload.cnf as Record<string, unknown> | undefined;
    const method = cnf === undefined ? 'none'
      : typeof cnf !== 'object' || cnf === null || Object.keys(cnf).length !== 1 ? 'unsupported'
      : typeof cnf['x5t#S256'] === 'string' && cnf['x5t#S256'] ? 'certificate'
      : typeof cnf.jkt === 'string' && cnf.jkt ? 'key' : 'unsupported';
    if (method === 'unsupported') {
      return reject('unsupported_binding');
    }

    // RFC 9449 §7.1: the DPoP scheme claims a binding; a token without jkt does not have one.
    if (method !== 'key' && scheme === 'DPoP') {
      return reject('not_dpop_bound');
    }

    // RFC 8705 §3: a certificate-bound token needs the TLS client certificate, which this plain-HTTP sample never
    // sees; refusing it keeps the binding (accepting it as a bearer token would undo it).
    if (method === 'certificate') {
      return reject('certificate_binding');
    }

    let keyThumbprint: string | undefined;
    if (method === 'key') {
      // RFC 9449 §7.2: never as a bearer token (a downgrade would undo the binding).
      if (scheme !== 'DPoP') {
        return reject('dpop_downgrade');
      }

      keyThumbprint = cnf!.jkt as string;
      switch (await this.dpop.verify(request.dpop, request.method, request.uri, token, keyThumbprint)) {
        case 'invalid_proof': return reject('dpop_proof');
        case 'key_mismatch': return reject('dpop_key_mismatch');
        case 'unavailable': return { kind: 'unavailable' };
      }
    }

    // RFC 8693 §4.1: act names the current actor; earlier actors nest inside it.
    const actors: string[] = [];
    for (let act = payload.act as Record<string, unknown> | undefined; act !== undefined; act = act.act as Record<string, unknown> | undefined) {
      if (typeof act !== 'object' || act === null || typeof act.sub !== 'string' || actors.length === MaxActorDepth) {
        return reject('missing_claims');
      }

      actors.push(act.sub);
    }

    // The token names its grant only (jti): a grant derived by re-exchange dies with its parent because the broker
    // revokes the whole chain and the feed carries one event per grant.
    const revocations = this.options.revocations;
    if (revocations.isRevoked(grantId, payload.iat * 1000)) {
      this.options.log('revoked-grant-presented', { grant_id: grantId, subject });
      return reject('revoked');
    }

    // A silent feed fails closed: we cannot know what was revoked meanwhile.
    const asOf = revocations.currentAsOf;
    if (asOf === undefined || Date.now() - asOf > this.options.maxStalenessMs) {
      this.options.log('revocation-stale', { grant_id: grantId, current_as_of: asOf === undefined ? null : new Date(asOf).toISOString() });
      return reject('revocation_unknown');
    }

    const caller: BrokerCaller = {
      grantId, subject, clientId, tenant, taskId, purpose, actors,
      capabilities: new Set(scope.split(' ').filter((s) => s.length > 0)),
      issuedAt: payload.iat, expiresAt: payload.exp, keyThumbprint,
    };
    return { kind: 'valid', caller };
  }

  /**
   * RFC 6750 §3 (Bearer) or RFC 9449 §7.1 (DPoP, with algs) challenge with the RFC 9728 §5.1 resource_metadata,
   * parameters in Broker.Validation's order.
   */
  challenge(error?: string, description?: string, scope?: string, scheme: Scheme = 'Bearer'): string {
    const parameters: [string, string | undefined][] = [
      ['resource_metadata', this.resourceMetadataUrl], ['error', error], ['error_description', description], ['scope', scope],
      ['algs', scheme === 'DPoP' ? this.dpop.algorithms : undefined],
    ];
    return `${scheme} ` + parameters
      .filter((p): p is [string, string] => p[1] !== undefined)
      .map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
      .join(', ');
  }

  /**
   * The WWW-Authenticate fields of a 401: both schemes, Bearer first (RFC 9449 §7.2, RFC 9110 §11.6.1); the error in
   * the challenge of the scheme the token came with, or in DPoP's for a proof error (invalid_dpop_proof, §7.1).
   */
  unauthorizedChallenges(refused?: { reason: Failure; scheme: Scheme }): string[] {
    if (!refused) {
      return [this.challenge(), this.challenge(undefined, undefined, undefined, 'DPoP')];
    }

    const error = refused.reason === 'dpop_proof' ? 'invalid_dpop_proof' : 'invalid_token';
    const inDPoP = refused.scheme === 'DPoP' || error !== 'invalid_token';
    return [
      inDPoP ? this.challenge() : this.challenge(error, Failures[refused.reason]),
      inDPoP ? this.challenge(error, Failures[refused.reason], undefined, 'DPoP') : this.challenge(undefined, undefined, undefined, 'DPoP'),
    ];
  }

  /** RFC 9728 §3.2 protected resource metadata. */
  resourceMetadata(): Record<string, unknown> {
    return {
      resource: this.options.resource,
      authorization_servers: [this.issuer],
      scopes_supported: [...new Set(this.options.scopesSupported)].sort(),
      bearer_methods_supported: ['header'],
      // RFC 9728 §2 / RFC 9449 §7.1: the proof algorithms accepted; bearer tokens are accepted too.
      dpop_signing_alg_values_supported: this.dpop.algorithms.split(' '),
      dpop_bound_access_tokens_required: false,
    };
  }

  private reject(reason: Failure, scheme: Scheme): TokenResult {
    this.options.log('token-rejected', { reason });
    return { kind: 'invalid', reason, scheme };
  }

  private unavailable(error: unknown): TokenResult {
    this.options.log('broker-keys-unavailable', { reason: reasonOf(error) });
    return { kind: 'unavailable' };
  }
}

/** What a jose error says about the token; undefined when it says the keys could not be fetched. */
function classify(error: unknown): Failure | undefined {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return 'missing_claims';
    switch (error.claim) {
      case 'nbf': return 'not_yet_valid';
      case 'iss': return 'issuer';
      case 'aud': return 'audience';
      case 'typ': return 'type';
      default: return 'invalid';
    }
  }

  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'unknown_key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error instanceof TypeError) return undefined;
  if (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC') return undefined; // the JWKS answered non-200
  return 'invalid';
}

function sameOrigin(value: unknown, broker: URL): URL | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  return url.origin === broker.origin ? url : undefined;
}

/** A broker that cannot be trusted or reached; its message is ours, never a response's. */
export class BrokerUnavailable extends Error {
  override readonly name = 'BrokerUnavailable';
}

/** Never another exception's message: it could quote a response, and nothing here may echo a credential. */
export function reasonOf(error: unknown): string {
  if (error instanceof BrokerUnavailable) return error.message;
  return error instanceof Error ? error.name : typeof error;
}
