"""State changes for provider credentials and chat defaults."""

from django.utils import timezone

from keys import crypto
from keys.models import MAX_INSTRUCTIONS_CHARS, ChatDefaults, Credential
from keys.probe import Probe
from providers.presets import PRESETS, clean_params


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


def do_replace_secret(
    credential: Credential, *, secret: str, base_url: str, auth_style: str, auth_header: str
):
    """A new secret, and with it possibly a new address or auth header: the secret is always re-entered when the
    address changes, so a key is only ever sent to the host it was saved for. The model list and last error
    belonged to the old secret and are forgotten."""
    credential.ciphertext = crypto.encrypt(secret)
    credential.last4 = secret[-4:]
    credential.base_url = base_url
    credential.auth_style = auth_style
    credential.auth_header = auth_header
    credential.last_error = ""
    credential.models_cache = []
    credential.models_fetched_at = None
    credential.save()


def do_record_probe(credential: Credential, probe: Probe) -> None:
    """Keep what a test or refresh learnt: the model list when one came back, and the key's last error."""
    fields = {"last_error": probe.error[:500]}
    if probe.ok:
        fields["last_used_at"] = timezone.now()
    if probe.models is not None:
        fields["models_cache"] = [{"id": m.id, "tier": m.tier, "vision": m.vision} for m in probe.models]
        fields["models_fetched_at"] = timezone.now()
    Credential.objects.filter(pk=credential.pk).update(**fields)
    for name, value in fields.items():
        setattr(credential, name, value)


def do_delete_credential(credential: Credential) -> None:
    # A hard delete: the ciphertext goes with the row. Messages keep their history (FK set null).
    credential.delete()


def do_save_chat_defaults(
    user, *, credential: Credential | None, model: str, params: dict, instructions: str = ""
) -> ChatDefaults:
    """Store what new chats start with; parameters are cleaned against the key's preset (none without a key)."""
    preset = PRESETS.get(credential.preset) if credential else None
    defaults, _ = ChatDefaults.objects.update_or_create(
        user=user,
        defaults={
            "credential": credential,
            "model": model.strip()[:200],
            "params": clean_params(preset, params) if preset else {},
            "instructions": instructions.strip()[:MAX_INSTRUCTIONS_CHARS],
        },
    )
    return defaults
