"""Schemathesis against a real `buzz serve`, each API family with its own credentials (SPEC §1.6).

    pip install -e '.[bench]'
    python -m bench.fuzz                      # SQLite file, 40 cases per operation and phase
    python -m bench.fuzz --database-url postgresql+psycopg://postgres@127.0.0.1:5432/fuzz
    python -m bench.fuzz --examples 100 --seed 7 --report-dir fuzz-report

Runs `st run openapi/openapi.json` twice (every check, every phase: coverage, fuzzing, stateful):
- Buzz (`/oauth/token`, `/v1/buzz/*`, the bot callback, `/healthz`, `/readyz`, `/metrics`) with
  an admin's bearer token;
- BuzzChat (`/api/v1/*`) with a business subscriber's API key.
Before each run the service is seeded with a channel, an integration, a subscription and a
webhook, so the stateful phase and the id parameters meet real rows too. The subscriber's rate
limits and the failed-authentication limit are raised for the run (they are tested elsewhere and
would otherwise answer most cases with 429). The embedded worker is off: generated targets are
never contacted.

It prints, per family, the cases sent, the responses by status, and the failures per check, and
exits 1 when any response is a 5xx or any response breaks the document's schema
(`response_schema_conformance`): the two figures `docs/hardening.md` quotes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.run import Service

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "openapi" / "openapi.json"
FAMILIES = {
    "Buzz": r"^/(oauth/token|v1/buzz/|api/buzz/|healthz|readyz|metrics)",
    "BuzzChat": r"^/api/v1/",
}
# Operations that would end the run's own credentials (the stateful phase finds the key's id in
# `GET /keys` and revokes it): each is fuzzed alone, after the rest of its family.
LAST = {"Buzz": [], "BuzzChat": ["revokeApiKey"]}


@dataclass
class Tally:
    """What one family's run sent and what came back."""

    cases: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    tool_errors: int = 0
    server_errors: list[str] = field(default_factory=list)

    @property
    def schema_violations(self) -> int:
        return self.failures["response_schema_conformance"]

    def add(self, other: Tally) -> None:
        self.cases += other.cases
        self.statuses.update(other.statuses)
        self.failures.update(other.failures)
        self.tool_errors += other.tool_errors
        self.server_errors.extend(other.server_errors)


def read_report(path: Path) -> Tally:
    """Count the interactions and checks of a schemathesis NDJSON report."""
    tally = Tally()
    for line in path.read_text().splitlines():
        event = json.loads(line)
        ((kind, body),) = event.items()
        if kind == "NonFatalError":
            tally.tool_errors += 1
        if kind != "ScenarioFinished" or body["status"] == "skip":
            continue
        recorder = body["recorder"]
        for interaction in recorder.get("interactions", {}).values():
            response = interaction.get("response")
            if response is None:
                continue
            tally.cases += 1
            status = response["status_code"]
            tally.statuses[status] += 1
            if status >= 500:
                request = interaction["request"]
                tally.server_errors.append(f"{status} {request['method']} {request['uri']}")
        for checks in recorder.get("checks", {}).values():
            for check in checks:
                if check["status"] == "failure":
                    tally.failures[check["name"]] += 1
    return tally


def seed(service: Service) -> None:
    """A channel, an integration with a subscription, and a BuzzChat webhook."""
    http = service.http
    channel = http.post("/v1/buzz/channels", json={"title": "Fuzzed"}).json()["id"]
    integration = http.post(
        "/v1/buzz/integrations",
        json={"name": "fuzzed", "scope": "CHANNEL_LIST", "channelIds": [channel]},
    ).json()["id"]
    http.post(
        f"/v1/buzz/integrations/{integration}/subscriptions",
        json={"eventType": "MESSAGE_POSTED", "url": "https://receiver.example/buzz"},
    ).raise_for_status()
    key = service.creds["apiKey"]["key"]
    http.post(
        "/api/v1/webhooks",
        headers={"Authorization": f"Bearer {key}"},
        json={"url": "https://receiver.example/hook", "events": ["message.sent"]},
    ).raise_for_status()


def run_family(
    service: Service, name: str, auth: str, args: argparse.Namespace, report_dir: Path
) -> Tally:
    """The family's operations (those of `LAST` excluded), then each of `LAST` alone."""
    first = ["--include-path-regex", FAMILIES[name]]
    for operation in LAST[name]:
        first += ["--exclude-operation-id", operation]
    passes = [(name.lower(), first)]
    passes += [(operation, ["--include-operation-id", operation]) for operation in LAST[name]]
    tally = Tally()
    for label, selection in passes:
        tally.add(run_schemathesis(service, auth, selection, args, report_dir / label))
    print(f"\n{name}: {tally.cases} cases (the tool's own output: {report_dir}/*.txt)")
    by_class = collections.Counter(f"{status // 100}xx" for status in tally.statuses.elements())
    print("  responses: " + ", ".join(f"{k} {v}" for k, v in sorted(by_class.items())))
    print("  statuses:  " + ", ".join(f"{k} {v}" for k, v in sorted(tally.statuses.items())))
    failures = ", ".join(f"{k} {v}" for k, v in sorted(tally.failures.items())) or "none"
    print(f"  failed checks: {failures}")
    if tally.tool_errors:
        print(f"  schemathesis' own errors (not responses): {tally.tool_errors}")
    for line in tally.server_errors[:20]:
        print(f"  5xx: {line}")
    return tally


def run_schemathesis(
    service: Service, auth: str, selection: list[str], args: argparse.Namespace, stem: Path
) -> Tally:
    ndjson = stem.with_suffix(".ndjson")
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        str(DOCUMENT),
        "--url",
        service.url,
        "--header",
        f"Authorization: {auth}",
        *selection,
        "--checks",
        "all",
        "--max-examples",
        str(args.examples),
        "--seed",
        str(args.seed),
        "--workers",
        "2",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(ndjson),
        "--continue-on-failure",
    ]
    with stem.with_suffix(".txt").open("wb") as out:
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    return read_report(ndjson)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--examples", type=int, default=40, help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report-dir", type=Path, help="keep the reports here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        report_dir = args.report_dir or workdir
        report_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "BUZZ_DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'fuzz.db'}",
            "BUZZ_EMBEDDED_WORKER": "false",
            "BUZZ_RATE_LIMIT_PER_MINUTE": "100000000",
            "BUZZ_RATE_LIMIT_PER_DAY": "100000000",
            "BUZZ_FAILED_AUTH_PER_MINUTE": "100000000",
            "BUZZ_BENCH_LOG": str(report_dir / "serve.log"),
        }
        service = Service(env)
        try:
            seed(service)
            tallies = {
                "Buzz": run_family(service, "Buzz", f"Bearer {service.token}", args, report_dir),
                "BuzzChat": run_family(
                    service,
                    "BuzzChat",
                    f"Bearer {service.creds['apiKey']['key']}",
                    args,
                    report_dir,
                ),
            }
        finally:
            service.stop()
    server_errors = sum(len(t.server_errors) for t in tallies.values())
    violations = sum(t.schema_violations for t in tallies.values())
    print(f"\n5xx responses: {server_errors}; schema violations: {violations}")
    sys.exit(1 if server_errors or violations else 0)


if __name__ == "__main__":
    main()
