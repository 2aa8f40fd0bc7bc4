"""The fields SPEC §3.10 gives every delivery-log entry, shared by both families' tests."""

from __future__ import annotations

RECORD_FIELDS = {
    "id",
    "eventId",
    "eventType",
    "status",
    "attempts",
    "lastResponseCode",
    "lastError",
    "nextAttemptAt",
    "createdAt",
}
ATTEMPT_FIELDS = {"at", "responseCode", "durationMs", "error", "responseBody"}
