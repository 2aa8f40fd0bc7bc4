"""Settings: defaults, and a bad value stops start-up with one line naming the variable."""

from __future__ import annotations

import pytest

from buzz.settings import Settings, SettingsError, load_settings


def test_defaults_match_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite:///./buzz.db"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.organization_domain == "127.0.0.1"
    assert settings.embedded_worker is True
    assert settings.rate_limit_storage == "memory://"
    assert settings.dispatch_ca_bundle is None
    assert settings.allow_private_targets is False
    assert (settings.dispatch_concurrency, settings.dispatch_per_host) == (256, 16)
    assert settings.dispatch_timeout_s == 10
    assert (settings.rate_limit_per_minute, settings.rate_limit_per_day) == (60, 10_000)
    assert settings.failed_auth_per_minute == 30


def test_org_domain_defaults_to_the_public_url_host() -> None:
    settings = Settings(public_url="https://chat.acme.com/", _env_file=None)  # type: ignore[call-arg]
    assert settings.organization_domain == "chat.acme.com"
    assert settings.public_url == "https://chat.acme.com"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BUZZ_DATABASE_URL", "mysql://localhost/x"),
        ("BUZZ_DATABASE_URL", "not a url"),
        ("BUZZ_PUBLIC_URL", "ftp://example.com"),
        ("BUZZ_DISPATCH_CONCURRENCY", "0"),
        ("BUZZ_DISPATCH_PER_HOST", "many"),
        ("BUZZ_DISPATCH_TIMEOUT_S", "-1"),
        ("BUZZ_EMBEDDED_WORKER", "perhaps"),
        ("BUZZ_RATE_LIMIT_STORAGE", "memcached://x"),
        ("BUZZ_DISPATCH_CA_BUNDLE", "/no/such/ca.pem"),
    ],
)
def test_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"invalid setting {variable}:")
    assert "\n" not in message


def test_asyncpg_urls_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    from buzz.db import sync_url

    monkeypatch.setenv("BUZZ_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    assert sync_url(load_settings().database_url).drivername == "postgresql+psycopg"
