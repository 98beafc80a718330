"""manage.py rotate_encryption_keys: every secret ends under the newest key, a second run changes nothing, a
stop half-way leaves everything readable and a re-run finishes, unreadable keys are named, never a secret."""

import io
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from keys import crypto
from keys.models import Credential
from tests.keys.ledger import key

OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))
ROWS = 25


def canary(n: int) -> str:
    return f"sk-CANARY-rotate-{n:03}-9c8b7a6f"


@pytest.fixture
def keyring(settings):
    """Set NOVAWEB_ENCRYPTION_KEYS (newest first) as a deployment would, and start reading it afresh."""

    def use(*keys):
        settings.NOVAWEB_ENCRYPTION_KEYS = list(keys)
        crypto.reset_cache()

    yield use
    crypto.reset_cache()


@pytest.fixture
def stored(keyring, make_user):
    """ROWS keys saved while OLD was the only key, then NEW put in front of it."""
    owner = make_user("alice")
    keyring(OLD)
    rows = [key(owner if n % 3 else None, f"key {n:03}", secret=canary(n)) for n in range(ROWS)]
    keyring(NEW, OLD)
    return rows


def rotate(*args) -> str:
    """Run the command; its whole output (stdout and stderr), which is checked for secrets every time."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("rotate_encryption_keys", *args, stdout=out, stderr=err)
    finally:
        output = out.getvalue() + err.getvalue()
        assert_no_secret(output)
    return output


def assert_no_secret(text: str) -> None:
    for n in range(ROWS):
        assert canary(n) not in text and canary(n)[-14:] not in text
    for token in Credential.objects.values_list("ciphertext", flat=True):
        assert token not in text and token[:40] not in text


def under(key_text: str) -> set[int]:
    """Ids of the rows that `key_text` alone opens."""
    fernet = Fernet(key_text.encode())
    opened = set()
    for pk, token in Credential.objects.values_list("pk", "ciphertext"):
        try:
            fernet.decrypt(token.encode())
        except Exception:
            continue
        opened.add(pk)
    return opened


def secrets() -> dict[int, str]:
    return {c.pk: crypto.decrypt(c.ciphertext) for c in Credential.objects.all()}


def test_every_secret_ends_under_the_newest_key_and_still_decrypts(stored, keyring):
    ids = {c.pk for c in stored}
    assert under(OLD) == ids and under(NEW) == set()
    updated_at = dict(Credential.objects.values_list("pk", "updated_at"))

    output = rotate("--batch-size", "7")
    assert "Rotated: 25" in output and "Already under the newest key: 0" in output
    assert "Unreadable: 0" in output
    assert under(NEW) == ids and under(OLD) == set()
    # The old key can go: everything decrypts with the new one alone, to the same secret.
    keyring(NEW)
    assert secrets() == {c.pk: canary(n) for n, c in enumerate(stored)}
    assert dict(Credential.objects.values_list("pk", "updated_at")) == updated_at


def test_a_second_run_changes_nothing(stored):
    rotate()
    before = dict(Credential.objects.values_list("pk", "ciphertext"))
    output = rotate()
    assert "Rotated: 0" in output and f"Already under the newest key: {ROWS}" in output
    assert dict(Credential.objects.values_list("pk", "ciphertext")) == before


def test_stopped_half_way_everything_stays_readable_and_a_rerun_finishes(stored, keyring):
    real_rotate = crypto.rotate
    calls = []

    def rotate_then_stop(token):
        if len(calls) == 10:
            raise KeyboardInterrupt  # as Ctrl-C would, between two rows
        calls.append(token)
        return real_rotate(token)

    with mock.patch.object(crypto, "rotate", rotate_then_stop), pytest.raises(CommandError) as stopped:
        rotate("--batch-size", "4")
    assert stopped.value.returncode == 130 and "run the command again" in str(stopped.value)
    assert len(under(NEW)) == 10 and len(under(OLD)) == ROWS - 10
    assert secrets() == {c.pk: canary(n) for n, c in enumerate(stored)}  # with both keys listed

    output = rotate()
    assert f"Rotated: {ROWS - 10}" in output and "Already under the newest key: 10" in output
    keyring(NEW)
    assert secrets() == {c.pk: canary(n) for n, c in enumerate(stored)}


def test_unreadable_keys_are_named_and_the_rest_still_rotates(stored, keyring, make_user):
    keyring(LOST)
    lost = key(make_user("bob"), "Lost key", secret="sk-lost-0123456789")
    keyring(NEW, OLD)
    broken = stored[0]
    Credential.objects.filter(pk=broken.pk).update(ciphertext="gAAAAAB-not-a-token")

    with pytest.raises(CommandError) as failed:
        rotate()
    assert failed.value.returncode == 1 and "2 keys could not be read" in str(failed.value)
    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command("rotate_encryption_keys", "--check", stdout=output)
    report = output.getvalue()
    assert_no_secret(report)
    assert "Unreadable: 2" in report and "Would rotate: 0" in report
    assert f"id {broken.pk}, “{broken.label}” (shared key)" in report
    assert f"id {lost.pk}, “Lost key” (bob's key)" in report
    assert "sk-lost" not in report
    assert under(NEW) == {c.pk for c in stored[1:]}


def test_check_reports_without_changing_anything(stored):
    before = dict(Credential.objects.values_list("pk", "ciphertext"))
    with pytest.raises(CommandError, match="run without --check"):
        rotate("--check")
    assert dict(Credential.objects.values_list("pk", "ciphertext")) == before
    rotate()
    assert f"Would rotate: 0\nAlready under the newest key: {ROWS}" in rotate("--check")


def test_a_secret_replaced_while_rotating_keeps_its_new_value(stored, keyring):
    from keys.actions import do_replace_secret

    target = stored[5]
    real_rotate = crypto.rotate

    def replaced_meanwhile(token):
        if token == Credential.objects.get(pk=target.pk).ciphertext:
            do_replace_secret(
                target,
                secret="sk-replaced-meanwhile-42",
                base_url=target.base_url,
                auth_style="bearer",
                auth_header="",
            )
        return real_rotate(token)

    with mock.patch.object(crypto, "rotate", replaced_meanwhile):
        output = rotate()
    assert f"Rotated: {ROWS - 1}" in output and "Replaced or deleted while running" in output
    keyring(NEW)
    assert crypto.decrypt(Credential.objects.get(pk=target.pk).ciphertext) == "sk-replaced-meanwhile-42"


def test_no_keys_no_work(keyring):
    keyring(NEW)
    assert "Rotated: 0" in rotate() and "Unreadable: 0" in rotate("--check")
