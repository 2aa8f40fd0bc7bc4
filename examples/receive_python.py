"""Receive Buzz events or BuzzChat webhooks: verify, dedupe, answer 204 at once (docs/receiving.md).

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... PORT=8000 python receive_python.py

Plain HTTP behind your TLS proxy; HTTPS itself when TLS_CERT_FILE and TLS_KEY_FILE are set.
"""

import os
import queue
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])
seen: set[str] = set()  # ids already taken: production keeps them in its database (unique key)
seen_lock = threading.Lock()
work: queue.Queue[tuple[str, Any]] = queue.Queue()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:  # the raw bytes, as received; a timestamp over 5 minutes off is refused too
            event = webhook.verify(body, dict(self.headers))
        except WebhookVerificationError as error:
            print(f"rejected: {error}", flush=True)
            self.answer(401)
            return
        event_id = self.headers["webhook-id"]  # the same on every retry of this event
        with seen_lock:
            duplicate = event_id in seen
            seen.add(event_id)
        print(f"{'duplicate' if duplicate else 'accepted'} {event_id}", flush=True)
        if not duplicate:
            work.put((event_id, event))
        self.answer(204)  # answer first; the work is done after

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.end_headers()


def handle() -> None:
    while True:  # your real work goes here, off the request
        event_id, event = work.get()
        kind = event.get("type") or event["event"]["type"]  # BuzzChat's, else Buzz's
        print(f"handled {event_id} {kind}", flush=True)


threading.Thread(target=handle, daemon=True).start()
address = (os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000")))
server = ThreadingHTTPServer(address, Receiver)
if os.environ.get("TLS_CERT_FILE"):
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(os.environ["TLS_CERT_FILE"], os.environ["TLS_KEY_FILE"])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
print(f"listening on port {server.server_address[1]}", flush=True)
server.serve_forever()
