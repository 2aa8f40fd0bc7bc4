"""The API-rate write reference (SPEC §6): Buzz's post-a-message writes, by hand, on plain sqlite3.

A FastAPI endpoint shaped like `POST /v1/buzz/channels/{id}/messages` that does what a post
fanning out to 10 subscriptions must write, and nothing else: in one transaction on one SQLite
connection (WAL, synchronous=NORMAL, as the service's), the message row, a callback token per
integration and a delivery per subscription, with executemany; then 201. No ORM, no auth, no
event bus, no validation beyond the body model. The database file is `BUZZ_RAW_DB`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from pydantic import BaseModel

FAN_OUT = 10
SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS callback_tokens (
    token_hash TEXT PRIMARY KEY, integration_id TEXT NOT NULL, channel_id TEXT NOT NULL,
    expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, public_id TEXT UNIQUE NOT NULL, target_id TEXT NOT NULL,
    event_id TEXT NOT NULL, event_type TEXT NOT NULL, payload BLOB NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TEXT,
    created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries (next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ix_deliveries_target ON deliveries (target_id, id);
"""

connection = sqlite3.connect(
    os.environ.get("BUZZ_RAW_DB", "raw.db"), check_same_thread=False, isolation_level=None
)
connection.execute("PRAGMA journal_mode=WAL")
connection.execute("PRAGMA synchronous=NORMAL")
connection.executescript(SCHEMA)
lock = threading.Lock()
app = FastAPI()


class Post(BaseModel):
    text: str


@app.post("/v1/buzz/channels/{channel_id}/messages", status_code=201)
def post_message(channel_id: str, body: Post) -> dict[str, str]:
    now = datetime.now(UTC)
    stamp = now.isoformat()
    message_id = str(uuid.uuid4())
    event_id = f"evt_{uuid.uuid4().hex}"
    tokens = [secrets.token_urlsafe(32) for _ in range(FAN_OUT)]
    payloads = [
        json.dumps(
            {"message": {"id": message_id, "text": body.text}, "callback": {"token": token}},
            separators=(",", ":"),
        ).encode()
        for token in tokens
    ]
    with lock:
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?)",
                (message_id, channel_id, body.text, stamp),
            )
            connection.executemany(
                "INSERT INTO callback_tokens VALUES (?, ?, ?, ?)",
                [
                    (
                        hashlib.sha256(token.encode()).hexdigest(),
                        f"integration-{n}",
                        channel_id,
                        (now + timedelta(hours=1)).isoformat(),
                    )
                    for n, token in enumerate(tokens)
                ],
            )
            connection.executemany(
                "INSERT INTO deliveries (public_id, target_id, event_id, event_type, payload,"
                " status, attempts, next_attempt_at, created_at)"
                " VALUES (?, ?, ?, 'MESSAGE_POSTED', ?, 'pending', 0, ?, ?)",
                [
                    (str(uuid.uuid4()), f"target-{n}", event_id, payload, stamp, stamp)
                    for n, payload in enumerate(payloads)
                ],
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return {"id": message_id, "channelId": channel_id, "text": body.text}
