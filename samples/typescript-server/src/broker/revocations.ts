// samples/typescript-server — the broker's revocation feed (docs/revocation-feed.md), followed in memory.

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { BrokerUnavailable, reasonOf } from './tokens.js';

const MaxEntries = 1_000_000;

/**
 * The revoked grant IDs this server knows of, each kept until the last token of its grant has expired anyway, plus
 * how current the set is (the feed's last event or heartbeat), which the staleness rule reads.
 */
export class RevokedGrants {
  private readonly revoked = new Map<string, number>();
  private refuseIssuedBefore = 0;
  private refuseUntil = 0;
  private asOf: number | undefined;
  private overflowed = false;
  private nextSweep = 0;

  /** When the set was last known complete (ms since the epoch); undefined when never, or while full. */
  get currentAsOf(): number | undefined {
    return this.overflowed ? undefined : this.asOf;
  }

  /** Records a revoked grant until `keepUntil` (its exp plus skew). False when full: the set then stops vouching. */
  add(grantId: string, keepUntil: number): boolean {
    const now = Date.now();
    if (keepUntil <= now) return true;
    this.sweep(now);
    if (this.revoked.size >= MaxEntries && !this.revoked.has(grantId)) {
      // Dropping an entry would silently re-admit a revoked grant; refusing to vouch fails closed.
      this.overflowed = true;
      return false;
    }

    this.revoked.set(grantId, Math.max(keepUntil, this.revoked.get(grantId) ?? 0));
    return true;
  }

  /** The set holds every revocation up to `asOf`. */
  markCurrent(asOf: number): void {
    if (this.overflowed) {
      this.sweep(Date.now(), true);
      this.overflowed = this.revoked.size >= MaxEntries;
    }

    this.asOf = Math.max(asOf, this.asOf ?? 0);
  }

  /** Revocations before `issuedBefore` may have been missed: refuse tokens issued earlier, until `until`. */
  refuseIssuedBeforeUntil(issuedBefore: number, until: number): void {
    this.refuseIssuedBefore = Math.max(this.refuseIssuedBefore, issuedBefore);
    this.refuseUntil = Math.max(this.refuseUntil, until);
  }

  isRevoked(grantId: string, issuedAt: number): boolean {
    const now = Date.now();
    this.sweep(now);
    const keepUntil = this.revoked.get(grantId);
    return (keepUntil !== undefined && keepUntil > now) || (issuedAt < this.refuseIssuedBefore && now < this.refuseUntil);
  }

  private sweep(now: number, force = false): void {
    if (!force && now < this.nextSweep) return;
    this.nextSweep = now + 60_000;
    for (const [grantId, keepUntil] of this.revoked) {
      if (keepUntil <= now) this.revoked.delete(grantId);
    }
  }
}

export interface RevocationFeedOptions {
  /** The broker's `revocation_events_endpoint`, once its metadata is read. */
  endpoint: () => URL | undefined;
  /** This server's own workload credential (JWT-SVID or OIDC token), asked for before every connection. Never logged. */
  credential: () => Promise<string>;
  revocations: RevokedGrants;
  /** Silence longer than this drops the connection (the broker heartbeats every 15 s by default). */
  freshnessWindowMs: number;
  log: (event: string, fields?: Record<string, unknown>) => void;
}

const MaxTokenLifetimeMs = 3600_000; // the broker's longest token lifetime: how long an entry without exp is kept
const ClockSkewMs = 30_000;
const InitialReconnectDelayMs = 1000;
const MaxReconnectDelayMs = 60_000;
const MaxEventLength = 16_384;

/**
 * Follows `GET /revocations/v1/events`: applies `revoked` and `reset` events to the set, marks it current on every
 * event and heartbeat once the broker said `ready` (its history is sent), and reconnects with backoff and jitter,
 * resuming with Last-Event-ID (the `ready` event's position when nothing was revoked).
 */
export class RevocationFeed {
  private lastEventId: string | undefined;
  private lastHeard: number | undefined;
  private connected = false;
  // Until `ready`, revocations missed while away may still be on their way: the set is not current yet.
  private caughtUp = false;

  constructor(private readonly options: RevocationFeedOptions) {}

  /** Connected, caught up, and heard from within the freshness window. */
  get fresh(): boolean {
    return this.connected && this.caughtUp && this.lastHeard !== undefined && Date.now() - this.lastHeard <= this.options.freshnessWindowMs;
  }

  /** Runs forever. */
  async run(): Promise<never> {
    let failures = 0;
    let retryMs = InitialReconnectDelayMs;
    for (;;) {
      let opened = false;
      let reason: string;
      try {
        opened = await this.follow((ms) => (retryMs = Math.min(ms, MaxReconnectDelayMs)));
        reason = opened ? 'the broker closed the stream' : 'no revocation_events_endpoint in the broker metadata yet';
      } catch (error) {
        opened = this.connected;
        reason = reasonOf(error);
      } finally {
        this.connected = false;
        this.caughtUp = false;
      }

      // A stream that opened and then ended is the broker rebalancing: wait its retry:. Failures back off
      // exponentially from there; jitter spreads the reconnections of many servers after a broker restart.
      failures = opened ? 0 : failures + 1;
      const delay = Math.max(100, Math.min(retryMs * 2 ** Math.max(0, failures - 1), MaxReconnectDelayMs) * (0.5 + Math.random() * 0.5));
      this.options.log(opened ? 'revocation-feed-disconnected' : 'revocation-feed-unavailable', { reason, retry_ms: Math.round(delay) });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** One connection, until it ends. True when it opened. */
  private async follow(setRetry: (ms: number) => void): Promise<boolean> {
    const endpoint = this.options.endpoint();
    if (!endpoint) return false;

    const abort = new AbortController();
    // Silence longer than the freshness window (connecting included) drops the connection: a half-open TCP
    // connection must not keep this server "connected" while revocations go unheard.
    let idle = setTimeout(() => abort.abort(), this.options.freshnessWindowMs);
    this.caughtUp = false;
    const heard = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), this.options.freshnessWindowMs);
      this.lastHeard = Date.now();
      if (this.caughtUp) this.options.revocations.markCurrent(this.lastHeard);
    };

    try {
      const resumeFrom = this.lastEventId;
      const response = await fetch(endpoint, {
        headers: {
          Accept: 'text/event-stream',
          Authorization: `Bearer ${await this.options.credential()}`,
          'Cache-Control': 'no-cache',
          ...(resumeFrom ? { 'Last-Event-ID': resumeFrom } : {}),
        },
        redirect: 'error', // our credential goes to the broker's origin only
        signal: abort.signal,
      });
      if (response.status !== 200 || !response.body) {
        throw new BrokerUnavailable(`the feed answered HTTP ${response.status}`);
      }

      if (!/^text\/event-stream\s*(;|$)/i.test(response.headers.get('content-type') ?? '')) {
        throw new BrokerUnavailable('the response is not text/event-stream');
      }

      this.connected = true;
      this.options.log('revocation-feed-connected', { endpoint: endpoint.href, resumed_from: resumeFrom ?? null });
      if (!resumeFrom) {
        // Without a position the broker replays nothing ("from now"): a grant revoked before this moment may never
        // reach us. Same treatment as a reset, from the start of this second (iat is whole seconds).
        const since = Math.floor(Date.now() / 1000) * 1000;
        this.options.revocations.refuseIssuedBeforeUntil(since, since + MaxTokenLifetimeMs + ClockSkewMs);
      }

      const parser = createParser({
        maxBufferSize: MaxEventLength,
        onEvent: (event) => {
          this.apply(event);
          if (event.id) this.lastEventId = event.id;
          if (event.event === 'ready') this.caughtUp = true;
          heard();
        },
        onRetry: (ms) => {
          setRetry(ms);
          heard();
        },
        onComment: () => heard(), // ": heartbeat" and the opening comment
        onError: (error) => {
          // Too long a line or event (the parser stops buffering): drop the connection rather than grow.
          this.options.log('revocation-feed-bad-stream', { reason: error.type });
          abort.abort();
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        parser.feed(decoder.decode(chunk, { stream: true }));
      }

      return true;
    } finally {
      clearTimeout(idle);
      abort.abort();
    }
  }

  private apply(event: EventSourceMessage): void {
    const now = Date.now();
    let data: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(event.data);
      data = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      data = undefined;
    }

    switch (event.event) {
      case 'revoked': {
        const grantId = data?.grant_id;
        const exp = data?.exp;
        if (typeof grantId === 'string' && grantId.length > 0 && (typeof exp === 'number' || exp === null || exp === undefined)) {
          // exp: the grant's last token expires then. Without it, keep for the longest token lifetime from the
          // revocation (or from now, whichever is later: our clock and the broker's may differ).
          const revokedAt = typeof data?.revoked_at === 'number' ? data.revoked_at * 1000 : now;
          const keepUntil = typeof exp === 'number' ? exp * 1000 + ClockSkewMs : Math.max(now, revokedAt) + MaxTokenLifetimeMs + ClockSkewMs;
          if (!this.options.revocations.add(grantId, keepUntil)) {
            this.options.log('revocation-set-full');
          }

          this.options.log('revocation-applied', { grant_id: grantId, position: event.id ?? null });
          return;
        }

        break;
      }

      case 'ready':
        // Everything up to its position has been sent; the caller records the position and marks the set current.
        return;

      case 'reset': {
        // The broker trimmed its history past our position: revocations before `since` may have been missed, so
        // every token issued before it is refused until it would have expired anyway.
        const since = typeof data?.since === 'number' ? data.since * 1000 : now;
        this.options.revocations.refuseIssuedBeforeUntil(since, since + MaxTokenLifetimeMs + ClockSkewMs);
        this.options.log('revocation-feed-reset', { reason: typeof data?.reason === 'string' ? data.reason.slice(0, 64) : 'unspecified', since: new Date(since).toISOString() });
        return;
      }

      default:
        // Event types this client does not know are skipped: the protocol may grow.
        return;
    }

    // Some grant was revoked and we cannot tell which: treated as a reset from now, rather than skipping it and
    // trusting its grant.
    this.options.revocations.refuseIssuedBeforeUntil(now, now + MaxTokenLifetimeMs + ClockSkewMs);
    this.options.log('revocation-feed-bad-event', { type: (event.event ?? '').slice(0, 32) });
  }
}
