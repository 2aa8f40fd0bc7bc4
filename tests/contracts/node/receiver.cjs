'use strict';
/*
 * A real HTTPS webhook receiver in Node, for tests/contracts/test_node_verifiers.py.
 *
 * Every POST /<name> is checked, with each secret set for <name>, by the verifiers Node
 * integrators use: `standardwebhooks` and `svix` (their `Webhook#verify`, on the raw body and the
 * headers as received) and, when X-BuzzChat-Signature is there, the seed's
 * `verifyWebhookSignature` (on the raw body, and on JSON.stringify of the parsed body, as an
 * Express app with express.json() would). Each check is run again on a tampered body, which every
 * verifier must reject. It answers 204 when standardwebhooks accepts one of the secrets, else 401.
 *
 *   PUT /_secrets/<name>  {"secrets": ["whsec_..."]}   set the secrets for POST /<name>
 *   GET /_results/<name>                               what POST /<name> received, oldest first
 *
 * Environment: CERT_FILE and KEY_FILE (PEM), PORT_FILE (where it writes its port once listening),
 * NODE_PATH (tools/node/node_modules, pinned by its package-lock.json).
 */

const fs = require('fs');
const https = require('https');
const { Webhook: StandardWebhook } = require('standardwebhooks');
const { Webhook: SvixWebhook } = require('svix');

// ---- The seed's check, copied verbatim from BuzzChat's API document ("Signature Verification").
const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expected = crypto
    .createHmac('sha256', secret)
    .update(payload)
    .digest('hex');
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expected)
  );
}
// ---- End of the seed's code.

const secretsByName = new Map();
const resultsByName = new Map();

// "valid", or "rejected: why" (a verifier that throws rejects; so does one that returns false).
function outcome(check) {
  try {
    return check() === false ? 'rejected: returned false' : 'valid';
  } catch (err) {
    return `rejected: ${err.message}`;
  }
}

function checks(body, headers, secret) {
  const result = {
    standardwebhooks: outcome(() => new StandardWebhook(secret).verify(body, headers)),
    svix: outcome(() => new SvixWebhook(secret).verify(body, headers)),
  };
  const signature = headers['x-buzzchat-signature'];
  if (signature !== undefined) {
    result.seed = outcome(() => verifyWebhookSignature(body, signature, secret));
    result.seedReserialized = outcome(() =>
      verifyWebhookSignature(JSON.stringify(JSON.parse(body.toString('utf8'))), signature, secret));
  }
  return result;
}

// The same JSON with one more field: what an attacker who changed the content would send.
function tamper(body) {
  const text = body.toString('utf8').trimEnd();
  return Buffer.from(text.endsWith('}') ? `${text.slice(0, -1)},"forged":true}` : `${text} `);
}

function receive(name, body, headers) {
  const secrets = secretsByName.get(name) || [];
  const tampered = tamper(body);
  const perSecret = secrets.map((secret) => ({
    ...checks(body, headers, secret),
    tampered: checks(tampered, headers, secret),
  }));
  const status = perSecret.some((c) => c.standardwebhooks === 'valid') ? 204 : 401;
  const signatures = (headers['webhook-signature'] || '').split(' ').filter(Boolean).length;
  const record = {
    webhookId: headers['webhook-id'] || null,
    signatures,
    buzzchatEvent: headers['x-buzzchat-event'] || null,
    body: body.toString('utf8'),
    status,
    checks: perSecret,
  };
  if (!resultsByName.has(name)) resultsByName.set(name, []);
  resultsByName.get(name).push(record);
  return status;
}

function reply(res, status, json) {
  if (json === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(json);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

const server = https.createServer(
  { cert: fs.readFileSync(process.env.CERT_FILE), key: fs.readFileSync(process.env.KEY_FILE) },
  (req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = new URL(req.url, 'https://receiver').pathname;
      let match;
      if (req.method === 'PUT' && (match = path.match(/^\/_secrets\/(.+)$/))) {
        secretsByName.set(match[1], JSON.parse(body.toString('utf8')).secrets);
        reply(res, 204);
      } else if (req.method === 'GET' && (match = path.match(/^\/_results\/(.+)$/))) {
        reply(res, 200, resultsByName.get(match[1]) || []);
      } else if (req.method === 'POST') {
        reply(res, receive(path.slice(1), body, req.headers));
      } else {
        reply(res, 405);
      }
    });
  }
);

server.listen(0, '127.0.0.1', () => {
  const portFile = process.env.PORT_FILE;
  fs.writeFileSync(`${portFile}.tmp`, String(server.address().port));
  fs.renameSync(`${portFile}.tmp`, portFile);
});

process.on('SIGTERM', () => process.exit(0));
