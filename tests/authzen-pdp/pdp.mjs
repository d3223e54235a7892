// A small policy decision point speaking OpenID AuthZEN Authorization API 1.0, Access Evaluation API (§6) over its
// HTTPS binding's paths (plain http on loopback: it is for tests), for the broker's tests. No dependencies.
//
// Environment: PDP_LISTEN (127.0.0.1:PORT), PDP_RULES (a JSON file, read again on every request so tests can change
// it), PDP_TOKEN (optional: the bearer credential every request must carry, else 401).
//
// POST /access/v1/evaluation: the request must be application/json, one object with subject.type, subject.id,
// action.name, resource.type and resource.id strings (§5), else 400. The first rule whose subject, action and resource
// match decides (deny by default): { "subject": id | "*", "action": name | "*", "resource": id | "*", ...answer }, the
// answer being { "decision": bool } (200, §6.2) or one of the test behaviours below. X-Request-ID is echoed (the HTTPS binding's request identifier).
//   "respond": "hang"       never answers (the connection stays open until the process ends)
//   "respond": "status"     answers "status" with "body" (a JSON value) as application/json
//   "respond": "raw"        answers 200 with "body" (a string, sent as is) and "content_type" (default application/json)
//   "respond": "oversize"   answers 200 with a valid decision padded to "bytes" bytes
// GET /calls: { count, requests: [{ body, authorized, request_id }] } of every evaluation received (the test's view of
// what the broker sent). GET /healthz: 200.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const listen = requireEnv('PDP_LISTEN');
const rulesFile = requireEnv('PDP_RULES');
const token = process.env.PDP_TOKEN || null;
const [host, port] = listen.split(':');
if (host !== '127.0.0.1') {
  throw new Error('PDP_LISTEN must be a loopback address');
}

const calls = [];

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    return send(res, 200, { status: 'ready' });
  }

  if (req.method === 'GET' && req.url === '/calls') {
    return send(res, 200, { count: calls.length, requests: calls });
  }

  if (req.method !== 'POST' || req.url !== '/access/v1/evaluation') {
    return send(res, 404, { error: 'not found' });
  }

  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > 64 * 1024) {
      req.destroy();
      return;
    }

    chunks.push(chunk);
  });
  req.on('end', () => evaluate(req, res, Buffer.concat(chunks).toString('utf8')));
});

function evaluate(req, res, text) {
  const requestId = req.headers['x-request-id'];
  if (requestId) {
    res.setHeader('X-Request-ID', requestId);
  }

  const authorized = token === null || req.headers.authorization === `Bearer ${token}`;
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Recorded as received; answered 400 below.
  }

  calls.push({ body, authorized, request_id: requestId ?? null });
  if (!authorized) {
    return send(res, 401, { error: 'unauthorized' });
  }

  if (!(req.headers['content-type'] ?? '').startsWith('application/json') || !isEvaluationRequest(body)) {
    return send(res, 400, { error: 'not an access evaluation request' });
  }

  const rules = JSON.parse(readFileSync(rulesFile, 'utf8')).rules;
  const rule = rules.find((r) =>
    matches(r.subject, body.subject.id) && matches(r.action, body.action.name) && matches(r.resource, body.resource.id));
  if (!rule) {
    return send(res, 200, { decision: false, context: { reason_admin: { en: 'no rule matched' } } });
  }

  switch (rule.respond ?? 'decision') {
    case 'decision':
      return send(res, 200, { decision: rule.decision === true, context: { reason_admin: { en: `rule ${rules.indexOf(rule)}` } } });
    case 'hang':
      return;
    case 'status':
      return send(res, rule.status, rule.body ?? {});
    case 'raw':
      res.writeHead(200, { 'content-type': rule.content_type ?? 'application/json' });
      return res.end(rule.body);
    case 'oversize': {
      const padding = 'x'.repeat(Math.max(0, rule.bytes - 40));
      return send(res, 200, { decision: true, context: { padding } });
    }
    default:
      return send(res, 500, { error: `unknown behaviour ${rule.respond}` });
  }
}

function isEvaluationRequest(body) {
  const isString = (value) => typeof value === 'string' && value.length > 0;
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    && isString(body.subject?.type) && isString(body.subject?.id)
    && isString(body.action?.name)
    && isString(body.resource?.type) && isString(body.resource?.id)
    && (body.context === undefined || (typeof body.context === 'object' && body.context !== null));
}

function matches(pattern, value) {
  return pattern === undefined || pattern === '*' || pattern === value;
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }

  return value;
}

server.listen(Number(port), host, () => process.stdout.write(JSON.stringify({ event: 'listening', listen }) + '\n'));
