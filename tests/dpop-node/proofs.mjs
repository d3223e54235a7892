// Makes DPoP proofs (RFC 9449) with the npm `dpop` package, an implementation that shares nothing with Broker.Jose.
// Reads a JSON array of requests on stdin: [{ "alg", "htm", "htu", "accessToken"?, "nonce"? }, ...]; requests with the
// same alg share one key pair. Writes a JSON array of { "proof", "jkt" }, jkt being the package's RFC 7638 thumbprint.
import { generateKeyPair, generateProof, calculateThumbprint } from 'dpop';

let input = '';
for await (const chunk of process.stdin) {
  input += chunk;
}

const requests = JSON.parse(input);
const keys = new Map();
const results = [];
for (const { alg, htm, htu, accessToken, nonce } of requests) {
  if (!keys.has(alg)) {
    keys.set(alg, await generateKeyPair(alg));
  }

  const keypair = keys.get(alg);
  results.push({
    proof: await generateProof(keypair, htu, htm, nonce ?? undefined, accessToken ?? undefined),
    jkt: await calculateThumbprint(keypair.publicKey),
  });
}

process.stdout.write(JSON.stringify(results));
