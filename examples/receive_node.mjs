// Receive Buzz events or BuzzChat webhooks: verify, dedupe, answer 204 at once (docs/receiving.md).
//
//   npm install standardwebhooks      (or svix, and import { Webhook } from 'svix': the same calls)
//   WEBHOOK_SECRET=whsec_... PORT=8000 node receive_node.mjs
//
// Plain HTTP behind your TLS proxy; HTTPS itself when TLS_CERT_FILE and TLS_KEY_FILE are set.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(process.env.WEBHOOK_SECRET);
const seen = new Set(); // ids already taken: production keeps them in its database (unique key)

function handle(eventId, event) { // your real work goes here, after the answer
  console.log(`handled ${eventId} ${event.type ?? event.event.type}`); // BuzzChat's, else Buzz's
}

function receive(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let event;
    try { // the raw bytes, as received; a timestamp over 5 minutes off is refused too
      event = webhook.verify(Buffer.concat(chunks), req.headers);
    } catch (error) {
      console.log(`rejected: ${error.message}`);
      res.writeHead(401).end();
      return;
    }
    const eventId = req.headers['webhook-id']; // the same on every retry of this event
    const duplicate = seen.has(eventId);
    seen.add(eventId);
    console.log(`${duplicate ? 'duplicate' : 'accepted'} ${eventId}`);
    res.writeHead(204).end(); // answer first; the work is done after
    if (!duplicate) setImmediate(handle, eventId, event);
  });
}

const { TLS_CERT_FILE, TLS_KEY_FILE, HOST = '127.0.0.1', PORT = '8000' } = process.env;
const server = TLS_CERT_FILE
  ? https.createServer({ cert: readFileSync(TLS_CERT_FILE), key: readFileSync(TLS_KEY_FILE) }, receive)
  : http.createServer(receive);
server.listen(Number(PORT), HOST, () => console.log(`listening on port ${server.address().port}`));
