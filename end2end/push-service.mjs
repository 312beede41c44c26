// A stand-in push service on loopback, for tests/push.rs: it checks each push the way a
// real one would, and decrypts it with Martin Thomson's http_ece (an RFC 8188/8291
// implementation independent of the server's).
//
// It makes a browser's subscription keys (P-256 key pair, 16-byte auth secret), listens
// on 127.0.0.1, and prints one JSON line: {"port", "p256dh", "auth"} (base64url). For every
// POST it prints one JSON line:
//   the first to a path: {"path", "errors": [...], "claims", "ttl", "encoding", "payload"}
//     and answers 201 (or 400 when a check failed);
//   later ones to the same path: {"path", "gone": true}, answered 410.
import crypto from 'node:crypto';
import http from 'node:http';
import ece from 'http_ece';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

const receiver = crypto.createECDH('prime256v1');
receiver.generateKeys();
const authSecret = crypto.randomBytes(16);
const seen = new Map();

/// What is wrong with the VAPID `Authorization` header (RFC 8292), and its claims.
function checkVapid(header, origin, errors) {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header || '');
  if (!match) {
    errors.push(`Authorization is not "vapid t=…, k=…": ${header}`);
    return null;
  }
  const [, jwt, k] = match;
  const parts = jwt.split('.');
  if (parts.length !== 3) {
    errors.push('the token is not a JWS compact serialisation');
    return null;
  }
  const head = JSON.parse(Buffer.from(parts[0], 'base64url'));
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  if (head.alg !== 'ES256') errors.push(`alg is ${head.alg}, not ES256`);
  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) errors.push('k is not an uncompressed P-256 point');
  const key = crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) },
    format: 'jwk',
  });
  const signed = crypto.verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(parts[2], 'base64url'),
  );
  if (!signed) errors.push('the ES256 signature does not verify with k');
  if (claims.aud !== origin) errors.push(`aud is ${claims.aud}, not ${origin}`);
  const now = Math.floor(Date.now() / 1000);
  if (!(claims.exp > now)) errors.push(`exp ${claims.exp} has passed`);
  if (!(claims.exp <= now + 24 * 3600)) errors.push(`exp ${claims.exp} is more than 24 h ahead`);
  if (!/^(mailto:|https:)/.test(claims.sub || '')) errors.push(`sub is ${claims.sub}`);
  return claims;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const path = req.url;
    const count = (seen.get(path) || 0) + 1;
    seen.set(path, count);
    if (req.method !== 'POST' || count > 1) {
      console.log(JSON.stringify({ path, gone: true }));
      res.writeHead(410).end();
      return;
    }
    const errors = [];
    let claims = null;
    try {
      claims = checkVapid(req.headers.authorization, `http://${req.headers.host}`, errors);
    } catch (err) {
      errors.push(`the token is malformed: ${err.message}`);
    }
    const ttl = req.headers.ttl;
    if (!/^\d+$/.test(ttl || '')) errors.push(`TTL is ${ttl}`);
    const encoding = req.headers['content-encoding'];
    if (encoding !== 'aes128gcm') errors.push(`Content-Encoding is ${encoding}`);
    let payload = null;
    try {
      payload = ece
        .decrypt(Buffer.concat(chunks), { version: 'aes128gcm', privateKey: receiver, authSecret: b64url(authSecret) })
        .toString('utf8');
    } catch (err) {
      errors.push(`decryption failed: ${err.message}`);
    }
    console.log(JSON.stringify({ path, errors, claims, ttl, encoding, payload }));
    res.writeHead(errors.length === 0 ? 201 : 400).end();
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(
    JSON.stringify({ port: server.address().port, p256dh: b64url(receiver.getPublicKey()), auth: b64url(authSecret) }),
  );
});
// Ends with the test that started it.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
