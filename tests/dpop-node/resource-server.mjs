// A small resource server whose only check is oauth4webapi's validateJwtAccessToken: RFC 9068 (JWT access tokens:
// typ at+jwt, iss/exp/aud/sub/iat/jti/client_id, the issuer's JWKS from its RFC 8414 metadata) and RFC 9449 (DPoP:
// scheme, proof, htm, htu, iat, ath, cnf.jkt), an implementation that shares nothing with Broker.Validation.
//
// Environment: BROKER_ISSUER (the broker's issuer URL), RS_AUDIENCE (the resource the tokens must name in aud),
// RS_LISTEN (127.0.0.1:PORT). GET /healthz answers 200 once the broker's metadata has been read; any other request is
// validated and answered 200 with the token's claims, or 401 with what oauth4webapi threw ({ name, code, message }).
// Never prints a token or a proof.
import http from 'node:http';
import * as oauth from 'oauth4webapi';

const issuer = new URL(requireEnv('BROKER_ISSUER'));
const audience = requireEnv('RS_AUDIENCE');
const listen = requireEnv('RS_LISTEN');
const [host, port] = listen.split(':');
if (host !== '127.0.0.1') {
  throw new Error('RS_LISTEN must be a loopback address: this server is for tests, over plain http');
}

// The broker under test is on loopback over plain http; oauth4webapi refuses non-https endpoints unless told.
const insecure = { [oauth.allowInsecureRequests]: true };
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
);

const server = http.createServer(async (req, res) => {
  if (req.url === '/healthz') {
    return answer(res, 200, { status: 'ready' });
  }

  // The URL the client addressed (htu is compared with it), with the request's own headers, repeated ones kept.
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }

  const request = new Request(new URL(req.url, `http://${listen}`), { method: req.method, headers });
  try {
    const claims = await oauth.validateJwtAccessToken(as, request, audience, insecure);
    log({ event: 'accepted', jti: claims.jti });
    answer(res, 200, { claims });
  } catch (err) {
    log({ event: 'refused', name: err.name, code: err.code, message: err.message });
    answer(res, 401, { name: err.name, code: err.code ?? null, message: err.message });
  }
});

server.listen(Number(port), host, () => log({ event: 'listening', listen, issuer: as.issuer }));

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function log(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }

  return value;
}
