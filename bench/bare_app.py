"""The API-rate ceiling: a bare FastAPI endpoint shaped like Buzz's post-a-message route.

It parses the same JSON body and answers 201 with a small JSON object; no database, no auth.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Post(BaseModel):
    text: str


@app.post("/v1/buzz/channels/{channel_id}/messages", status_code=201)
async def post_message(channel_id: str, body: Post) -> dict[str, str]:
    return {"id": str(uuid.uuid4()), "channelId": channel_id, "text": body.text}
