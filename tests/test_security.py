"""`buzz.security`: random identifiers and secret hashing."""

from __future__ import annotations

import string
from collections.abc import Iterator

import pytest

from buzz import security
from buzz.security import hash_secret, random_base62, secret_matches

BASE62 = string.digits + string.ascii_letters


def test_random_base62_maps_each_byte_below_248_and_drops_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws: Iterator[bytes] = iter([bytes([0, 61, 248, 62, 255, 247, 123]), bytes([9] * 16)])
    monkeypatch.setattr(security.secrets, "token_bytes", lambda _n: next(draws))
    # 0 -> "0", 61 -> "Z", 248 dropped, 62 -> "0" again, 255 dropped, 247 -> 247 % 62 = 61 -> "Z",
    # 123 -> 61 -> "Z"; then a second draw tops it up.
    assert random_base62(8) == "0Z0ZZ999"


def test_random_base62_has_the_length_and_alphabet_asked_for() -> None:
    values = [random_base62(n) for n in (1, 20, 48, 200) for _ in range(50)]
    assert {len(v) for v in values} == {1, 20, 48, 200}
    assert set("".join(values)) <= set(BASE62)
    assert len(set(random_base62(20) for _ in range(1000))) == 1000


def test_a_secret_matches_only_its_own_hash() -> None:
    stored = hash_secret("s3cret")
    assert secret_matches("s3cret", stored)
    assert not secret_matches("s3cret ", stored)
