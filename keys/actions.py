"""State changes for provider credentials."""

from keys import crypto
from keys.models import Credential


def do_add_credential(
    owner, *, preset: str, label: str, base_url: str, auth_style: str, auth_header: str, secret: str
) -> Credential:
    return Credential.objects.create(
        owner=owner,
        preset=preset,
        label=label,
        base_url=base_url,
        auth_style=auth_style,
        auth_header=auth_header,
        ciphertext=crypto.encrypt(secret),
        last4=secret[-4:],
    )


def do_rename_credential(credential: Credential, label: str) -> None:
    credential.label = label
    credential.save(update_fields=["label", "updated_at"])


def do_delete_credential(credential: Credential) -> None:
    # A hard delete: the ciphertext goes with the row. Messages keep their history (FK set null).
    credential.delete()
