// samples/typescript-server — an MCP server (official TypeScript SDK, Streamable HTTP) whose tools need broker
// capabilities. The broker-specific parts are in ./broker; this page is the server.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { loadConfig } from './config.js';
import { argumentsSha256, isObject, JsonRpcErrors, readBody, routingHeaderMismatch, stripToken, ToolCallAudit, writeJsonRpcError } from './broker/mcp.js';
import { RevocationFeed, RevokedGrants } from './broker/revocations.js';
import { BrokerTokens, reasonOf, type BrokerCaller } from './broker/tokens.js';

const log = (event: string, fields: Record<string, unknown> = {}) => process.stderr.write(JSON.stringify({ event, time: new Date().toISOString(), ...fields }) + '\n');
const config = (() => {
  try {
    return loadConfig(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return process.exit(1);
  }
})();

// The capabilities each tool needs: the names and tools: of the broker policy (samples/dev/policy/dev.yaml).
const toolCapabilities = new Map([['list_files', ['files.read']], ['read_file', ['files.read']], ['write_file', ['files.write']]]);
const covers = (caller: BrokerCaller, tool: string) => toolCapabilities.get(tool)!.every((c) => caller.capabilities.has(c));

// An in-memory set of files, seeded with two, so the sample needs no disk.
const files = new Map([['README.md', 'A sample file served by the MCP sample.'], ['notes.txt', 'Capabilities are granted per task.']].map(([name, content]) => [name!, { content: content!, writtenBy: 'seed' }]));
const text = (value: string, isError = false) => ({ content: [{ type: 'text' as const, text: value }], isError });

/** The MCP server for one request: every tool, those the token does not cover disabled (neither listed nor callable). */
function mcpServer(caller: BrokerCaller, audit: ToolCallAudit | undefined): McpServer {
  const server = new McpServer({ name: 'broker-sample-typescript-server', version: '1.0.0' });
  const audited = <F extends (...args: never[]) => Promise<{ isError?: boolean }>>(callback: F) => (audit ? audit.audited(callback) : callback);
  const tools = {
    list_files: server.registerTool('list_files', { description: 'Lists the files.', annotations: { readOnlyHint: true } },
      audited(async () => text(JSON.stringify([...files.keys()].sort())))),
    read_file: server.registerTool('read_file', { description: 'Reads a file.', inputSchema: { path: z.string().describe("The file's name.") }, annotations: { readOnlyHint: true } },
      audited(async ({ path }: { path: string }) => (files.has(path) ? text(files.get(path)!.content) : text(`No file named '${path}'.`, true)))),
    write_file: server.registerTool('write_file', {
      description: 'Writes a file, replacing it if it exists.',
      inputSchema: { path: z.string().min(1).describe("The file's name."), content: z.string().max(64 * 1024).describe('The new contents.') },
      annotations: { destructiveHint: true },
    }, audited(async ({ path, content }: { path: string; content: string }) => {
      // The caller's context is there for the tool's own decisions and records; it carries no token.
      files.set(path, { content, writtenBy: `${caller.subject} for task ${caller.taskId} (${caller.purpose})` });
      return text(`Wrote ${content.length} characters to ${path}.`);
    })),
  };
  for (const [name, tool] of Object.entries(tools)) if (!covers(caller, name)) tool.disable();
  return server;
}

const revocations = new RevokedGrants();
const tokens = new BrokerTokens({
  broker: config.broker, resource: config.resource, tenant: config.tenant, revocations, log,
  scopesSupported: [...toolCapabilities.values()].flat(), maxStalenessMs: config.maxStalenessMs,
});
const feed = new RevocationFeed({ endpoint: () => tokens.revocationEvents, credential: config.credential, revocations, freshnessWindowMs: config.maxStalenessMs, log });
const mcpPath = new URL(config.resource).pathname;
const metadataPaths = new Set([new URL(tokens.resourceMetadataUrl).pathname, '/.well-known/oauth-protected-resource']);

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method === 'GET' && metadataPaths.has(path)) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' }).end(JSON.stringify(tokens.resourceMetadata()));
    return;
  }

  if (req.method === 'GET' && path === '/healthz') {
    res.writeHead(tokens.ready && feed.fresh ? 200 : 503, { 'Cache-Control': 'no-store' }).end();
    return;
  }

  if (path !== mcpPath) {
    res.writeHead(404).end();
    return;
  }

  // Every request to the MCP endpoint needs a valid token: 401 names where to find out how to get one. A DPoP proof
  // names the URI clients address: the configured public origin, or this request's own Host, then the path.
  const result = await tokens.authenticate({
    authorization: req.headersDistinct.authorization,
    dpop: req.headersDistinct.dpop,
    method: req.method ?? '',
    uri: `${config.publicOrigin ?? `http://${req.headers.host ?? ''}`}${path}`,
  });
  if (result.kind !== 'valid') {
    const challenges = result.kind === 'missing' ? tokens.unauthorizedChallenges() : result.kind === 'invalid' ? tokens.unauthorizedChallenges(result) : undefined;
    res.writeHead(challenges ? 401 : 503, challenges ? { 'WWW-Authenticate': challenges, 'Cache-Control': 'no-store' } : { 'Retry-After': '5', 'Cache-Control': 'no-store' }).end();
    return;
  }

  const caller = result.caller;
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' }).end(); // stateless: no GET stream, no session to DELETE
    return;
  }

  const body = await readBody(req);
  if (!body) return writeJsonRpcError(res, 413, null, JsonRpcErrors.invalidRequest, 'Bad Request: the request body is too large.', { Connection: 'close' });
  let message: unknown;
  try {
    message = JSON.parse(body.toString('utf8'));
  } catch {
    return writeJsonRpcError(res, 400, null, JsonRpcErrors.parse, 'Parse error.');
  }

  if (!isObject(message)) return writeJsonRpcError(res, 400, null, JsonRpcErrors.invalidRequest, 'Bad Request: one JSON-RPC message per request.');
  const mismatch = routingHeaderMismatch(req.headersDistinct, message);
  if (mismatch) return writeJsonRpcError(res, 400, message.id, JsonRpcErrors.headerMismatch, `Bad Request: ${mismatch}.`);

  const tool = message.method === 'tools/call' && isObject(message.params) && typeof message.params.name === 'string' ? message.params.name : undefined;
  const audit = tool !== undefined ? new ToolCallAudit(tool, caller, argumentsSha256(message.params)) : undefined;
  if (tool !== undefined && toolCapabilities.has(tool) && !covers(caller, tool)) {
    // MCP "Scope Challenge Handling": every capability the tool needs, not only the missing ones.
    audit!.refused();
    return writeJsonRpcError(res, 403, message.id, JsonRpcErrors.invalidRequest, 'The token lacks capabilities this tool needs.', {
      // In the scheme the token came with: DPoP (with algs) for a DPoP-bound token (RFC 9449 §7.1).
      'WWW-Authenticate': tokens.challenge('insufficient_scope', 'The token lacks capabilities this operation needs.', toolCapabilities.get(tool)!.join(' '),
        caller.keyThumbprint ? 'DPoP' : 'Bearer'),
    });
  }

  stripToken(req);
  const server = mcpServer(caller, audit);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    audit?.finish(res);
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, message);
}

const http = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    log('request-failed', { reason: reasonOf(error) });
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
http.listen(config.port, config.host, () => log('listening', { url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}${mcpPath}`, resource: config.resource, tenant: config.tenant }));
void tokens.start().then(() => feed.run());
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
