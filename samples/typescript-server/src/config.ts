// samples/typescript-server — configuration from environment variables, checked before anything starts.

import { readFile } from 'node:fs/promises';

export interface Config {
  broker: string;
  resource: string;
  tenant: string;
  host: string;
  port: number;
  maxStalenessMs: number;
  /** The origin clients address this server at, for the htu of DPoP proofs; undefined: the request's own Host. */
  publicOrigin: string | undefined;
  /** This server's own workload credential for the revocation feed, read before every connection. */
  credential: () => Promise<string>;
}

/**
 * BROKER_URL, MCP_RESOURCE, MCP_TENANT (required), MCP_LISTEN (host:port, default 127.0.0.1:5091),
 * REVOCATION_MAX_STALENESS_SECONDS (default 45), MCP_PUBLIC_ORIGIN (the origin clients address this server at, for
 * DPoP proofs behind a proxy; default: the request's own Host), and the feed credential: BROKER_CREDENTIAL_FILE (a JWT-SVID or
 * OIDC token file, re-read on every connection so rotation is picked up) or, for a --dev broker only,
 * BROKER_DEV_SPIFFE_ID (a dev JWT-SVID from the broker's POST /dev/svid).
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const required = (name: string) => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is required`);
    return value ?? '';
  };

  const broker = required('BROKER_URL');
  const resource = required('MCP_RESOURCE');
  const tenant = required('MCP_TENANT');
  const brokerUrl = URL.canParse(broker) ? new URL(broker) : undefined;
  const loopbackHttp = brokerUrl?.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(brokerUrl.hostname);
  // Tokens are only as good as the keys we fetch: https, or plain http to a broker on this machine (--dev).
  if (broker && !(brokerUrl?.protocol === 'https:' || loopbackHttp)) problems.push('BROKER_URL must be an https URL (http only on loopback)');
  if (brokerUrl && (brokerUrl.search || brokerUrl.hash)) problems.push('BROKER_URL must have no query or fragment');
  if (resource && !(URL.canParse(resource) && new URL(resource).protocol === 'https:' && !new URL(resource).hash)) {
    problems.push('MCP_RESOURCE must be an https URL without a fragment (RFC 8707 §2)');
  }

  if (tenant && !/^[a-z0-9._-]+$/.test(tenant)) problems.push('MCP_TENANT must be a tenant name (a-z 0-9 . _ -)');

  const listen = URL.canParse(`http://${env.MCP_LISTEN ?? '127.0.0.1:5091'}`) ? new URL(`http://${env.MCP_LISTEN ?? '127.0.0.1:5091'}`) : undefined;
  if (!listen?.port) problems.push('MCP_LISTEN must be host:port');

  const staleness = Number(env.REVOCATION_MAX_STALENESS_SECONDS ?? '45');
  if (!Number.isFinite(staleness) || staleness < 1 || staleness > 3600) problems.push('REVOCATION_MAX_STALENESS_SECONDS must be 1-3600');

  const publicOrigin = env.MCP_PUBLIC_ORIGIN?.trim() || undefined;
  if (publicOrigin && !(URL.canParse(publicOrigin) && ['http:', 'https:'].includes(new URL(publicOrigin).protocol) && new URL(publicOrigin).origin === publicOrigin.replace(/\/$/, ''))) {
    problems.push('MCP_PUBLIC_ORIGIN must be an http(s) origin without path, e.g. https://mcp.example.org');
  }

  let credential: (() => Promise<string>) | undefined;
  if (env.BROKER_CREDENTIAL_FILE) {
    const file = env.BROKER_CREDENTIAL_FILE;
    credential = async () => (await readFile(file, 'utf8')).trim();
  } else if (env.BROKER_DEV_SPIFFE_ID) {
    // The --dev broker hands out identities of its dev trust domain on loopback; nothing else does.
    if (!loopbackHttp) problems.push('BROKER_DEV_SPIFFE_ID works only with a --dev broker on loopback http');
    const url = `${broker.replace(/\/$/, '')}/dev/svid?spiffe_id=${encodeURIComponent(env.BROKER_DEV_SPIFFE_ID)}`;
    credential = async () => {
      const response = await fetch(url, { method: 'POST', redirect: 'error', signal: AbortSignal.timeout(10_000) });
      if (response.status !== 200) throw new Error(`POST /dev/svid answered HTTP ${response.status}`);
      return (await response.text()).trim();
    };
  } else {
    // Deny by default: without the feed, revoked tokens would be honoured until they expire.
    problems.push('BROKER_CREDENTIAL_FILE (or BROKER_DEV_SPIFFE_ID with a --dev broker) is required for the revocation feed');
  }

  if (problems.length > 0 || !credential || !listen) {
    throw new Error(`Configuration: ${problems.join('; ')}.`);
  }

  return {
    broker, resource, tenant,
    host: listen.hostname.replace(/^\[|\]$/g, ''), port: Number(listen.port),
    maxStalenessMs: staleness * 1000,
    publicOrigin: publicOrigin ? new URL(publicOrigin).origin : undefined,
    credential,
  };
}
