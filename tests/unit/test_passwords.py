"""Password hashes: the stored format is unchanged, so hashes written before (by werkzeug) still check,
and ours check with werkzeug too."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from rulesvc.services import passwords
from rulesvc.services.passwords import check_password, hash_password


def test_round_trip_and_compatibility(monkeypatch):
    monkeypatch.setattr(passwords, "SCRYPT", passwords.DEFAULT_SCRYPT)  # the suite's conftest lowers it
    ours = hash_password("correct horse battery")
    assert ours.startswith("scrypt:32768:8:1$") and check_password(ours, "correct horse battery")
    assert not check_password(ours, "correct horse batterY")
    assert check_password_hash(ours, "correct horse battery")
    for method in ("scrypt", "pbkdf2:sha256:1000"):
        theirs = generate_password_hash("长密码 with 中文", method=method)
        assert check_password(theirs, "长密码 with 中文") and not check_password(theirs, "x")


def test_a_hash_made_at_another_cost_checks_at_its_own():
    cheap = hash_password("口令 one")  # at the suite's cost
    assert cheap.startswith("scrypt:1024:8:1$") and passwords.DEFAULT_SCRYPT == (2**15, 8, 1)
    assert check_password(cheap, "口令 one") and not check_password(cheap, "口令 two")


def test_unreadable_or_costly_hashes_match_nothing():
    for stored in ("", "plain", "md5$salt$abc", "scrypt:4294967296:8:1$salt$00", "scrypt:x:8:1$s$00", "pbkdf2$s$0"):
        assert not check_password(stored, "anything")
