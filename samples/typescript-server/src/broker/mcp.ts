// samples/typescript-server — what an MCP endpoint checks before the SDK sees a request (Broker.Validation.Mcp in C#).

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import canonicalize from 'canonicalize';
import type { BrokerCaller } from './tokens.js';

export const MaxRequestBodyBytes = 1024 * 1024;

/** JSON-RPC error codes: the spec's, and MCP 2026-07-28's for headers that disagree with the body. */
export const JsonRpcErrors = { parse: -32700, invalidRequest: -32600, headerMismatch: -32020 } as const;

/** The body, at most `max` bytes; undefined when it is larger (the rest is not read). */
export async function readBody(req: IncomingMessage, max = MaxRequestBodyBytes): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > max) return undefined;
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > max) return undefined;
    chunks.push(chunk);
  }

  return Buffer.concat(chunks);
}

/**
 * `Mcp-Method` and `Mcp-Name` (MCP 2026-07-28 Streamable HTTP), whenever present and whatever the protocol version,
 * must be single and equal the body's `method` and, for tools/call, prompts/get and resources/read, its
 * `params.name` / `params.uri`: a gateway that authorised by header must have seen what the server runs.
 * Returns why not, or undefined when they agree.
 */
export function routingHeaderMismatch(headers: NodeJS.Dict<string[]>, message: Record<string, unknown>): string | undefined {
  const method = typeof message.method === 'string' ? message.method : undefined;
  const methodHeader = headers['mcp-method'];
  if (methodHeader && (methodHeader.length !== 1 || methodHeader[0]!.trim() !== method)) {
    return 'Mcp-Method does not match the request body';
  }

  const member = method === 'tools/call' || method === 'prompts/get' ? 'name' : method === 'resources/read' ? 'uri' : undefined;
  const params = message.params;
  const routingName = member && isObject(params) && typeof params[member] === 'string' ? params[member] : undefined;
  const nameHeader = headers['mcp-name'];
  if (nameHeader && member && (nameHeader.length !== 1 || routingName === undefined || decodeHeaderValue(nameHeader[0]!.trim()) !== routingName)) {
    return 'Mcp-Name does not match the request body';
  }

  return undefined;
}

/** SEP-2243: `=?base64?…?=` carries UTF-8 as base64; undefined when it is not valid base64 or UTF-8. */
function decodeHeaderValue(value: string): string | undefined {
  const prefix = '=?base64?';
  const suffix = '?=';
  if (value.length < prefix.length + suffix.length || !value.startsWith(prefix) || !value.endsWith(suffix)) return value;
  const base64 = value.slice(prefix.length, -suffix.length);
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(base64, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * Lower-case hex SHA-256 of a tool call's arguments in RFC 8785 canonical JSON (`{}` when there are none), so the
 * same call hashes alike however a client spaced or ordered it, and the arguments themselves are not logged.
 */
export function argumentsSha256(params: unknown): string {
  const args = isObject(params) ? params.arguments : undefined;
  const canonical = args === undefined || args === null ? '{}' : canonicalize(args) ?? '{}';
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * One tool call's audit line, written once: `insufficient_scope` where it is refused, what the tool did as soon as
 * it returns (`succeeded`; `failed`: it threw or returned an error result), and otherwise when the HTTP exchange
 * ends (`failed`: the SDK refused the arguments, so the tool never ran; `cancelled`: the client went away first).
 * Tokens never appear in it.
 */
export class ToolCallAudit {
  private outcome: string | undefined;
  private written = false;

  constructor(
    readonly tool: string,
    private readonly caller: BrokerCaller,
    private readonly argumentsHash: string,
  ) {}

  /** Wraps a tool's callback so that its outcome is recorded; the callback's type is unchanged. */
  audited<F extends (...args: never[]) => Promise<{ isError?: boolean }>>(callback: F): F {
    return (async (...args: Parameters<F>) => {
      try {
        const result = await callback(...args);
        this.outcome = result.isError ? 'failed' : 'succeeded';
        return result;
      } catch (error) {
        this.outcome = 'failed';
        throw error;
      } finally {
        this.write();
      }
    }) as F;
  }

  refused(): void {
    this.outcome = 'insufficient_scope';
    this.write();
  }

  finish(res: ServerResponse): void {
    this.outcome ??= res.writableFinished ? 'failed' : 'cancelled';
    this.write();
  }

  private write(): void {
    if (this.written) return;
    this.written = true;
    process.stdout.write(JSON.stringify({
      event: 'mcp-audit',
      time: new Date().toISOString(),
      tool: this.tool,
      outcome: this.outcome,
      grant_id: this.caller.grantId,
      subject: this.caller.subject,
      tenant: this.caller.tenant,
      task_id: this.caller.taskId,
      arguments_sha256: this.argumentsHash,
    }) + '\n');
  }
}

/** A JSON-RPC error as the HTTP response, so MCP clients can read the refusal like any other. */
export function writeJsonRpcError(res: ServerResponse, status: number, id: unknown, code: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: typeof id === 'string' || typeof id === 'number' ? id : null, error: { code, message } }));
}

/** No token passthrough (MCP "Token Handling"): behind this point the request carries no token. */
export function stripToken(req: IncomingMessage): void {
  for (const name of ['authorization', 'dpop']) {
    delete req.headers[name];
    delete req.headersDistinct[name];
  }

  for (let i = req.rawHeaders.length - 2; i >= 0; i -= 2) {
    if (['authorization', 'dpop'].includes(req.rawHeaders[i]!.toLowerCase())) req.rawHeaders.splice(i, 2);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
