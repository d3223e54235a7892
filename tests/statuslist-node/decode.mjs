// Decodes a Token Status List JWT (read from standard input) with @sd-jwt/jwt-status-list, an implementation
// independent of the broker's, and prints the status of each index given as an argument as JSON:
//   node decode.mjs 0 7 42 < list.jwt   →   {"size":1048576,"statuses":{"0":0,"7":1,"42":0}}
// Only the package's decoding is used (base64url, ZLIB inflate, bit order): the broker's tests verify the signature.
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}

const jwt = Buffer.concat(chunks).toString('ascii').trim();
const list = getListFromStatusListJWT(jwt);
const statuses = {};
for (const argument of process.argv.slice(2)) {
  const index = Number.parseInt(argument, 10);
  statuses[index] = list.getStatus(index);
}

process.stdout.write(JSON.stringify({ size: list.statusList.length, statuses }) + '\n');
