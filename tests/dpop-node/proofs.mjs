// Makes DPoP proofs (RFC 9449) with the npm `dpop` package, an implementation that shares nothing with Broker.Jose.
// Reads a JSON array of requests on stdin: [{ "alg", "htm", "htu", "accessToken"?, "nonce"?, "privateJwk"? }, ...];
// requests with the same alg share one key pair, generated here, unless a request brings its own private key as a JWK
// (ES256 or PS256: a key the caller bound a token to before the proof could be made, for ath). Writes a JSON array of
// { "proof", "jkt" }, jkt being the package's RFC 7638 thumbprint.
import { webcrypto } from 'node:crypto';
import { generateKeyPair, generateProof, calculateThumbprint } from 'dpop';

const importAlgorithms = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
};

async function importKeyPair(alg, privateJwk) {
  const algorithm = importAlgorithms[alg];
  if (!algorithm) {
    throw new Error(`privateJwk is supported for ${Object.keys(importAlgorithms).join(', ')}, not ${alg}`);
  }

  const { d, p, q, dp, dq, qi, ...publicJwk } = privateJwk;
  return {
    privateKey: await webcrypto.subtle.importKey('jwk', privateJwk, algorithm, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']),
  };
}

let input = '';
for await (const chunk of process.stdin) {
  input += chunk;
}

const requests = JSON.parse(input);
const keys = new Map();
const results = [];
for (const { alg, htm, htu, accessToken, nonce, privateJwk } of requests) {
  if (!privateJwk && !keys.has(alg)) {
    keys.set(alg, await generateKeyPair(alg));
  }

  const keypair = privateJwk ? await importKeyPair(alg, privateJwk) : keys.get(alg);
  results.push({
    proof: await generateProof(keypair, htu, htm, nonce ?? undefined, accessToken ?? undefined),
    jkt: await calculateThumbprint(keypair.publicKey),
  });
}

process.stdout.write(JSON.stringify(results));
