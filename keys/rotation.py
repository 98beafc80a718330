"""Re-encrypting every stored provider secret under the newest key (`manage.py rotate_encryption_keys`).

Safe to stop at any moment and to run again:
- rows are read in batches by id, and each is written by one conditional UPDATE ("only if the ciphertext is
  still what was read"), which in autocommit mode is its own short transaction; a stop leaves every row
  either as it was or rotated, both readable while the old key stays listed;
- a row the newest key alone already opens is left untouched, so a second run writes nothing;
- a row whose secret was replaced (or deleted) between the read and the write is left to its new value,
  which `crypto.encrypt` already wrote under the newest key;
- a row no configured key opens is reported and skipped; it never stops the others.

`Credential.ciphertext` is the only encrypted column; a new one belongs in `rotate_all` too.
`updated_at` is left alone: re-encrypting is not a change anyone made to the key.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from keys import crypto
from keys.models import Credential


@dataclass
class Unreadable:
    id: int
    label: str
    owner: str  # "" for a shared key


@dataclass
class Outcome:
    rotated: int = 0  # with `check`: would be rotated
    current: int = 0
    changed: int = 0
    unreadable: list[Unreadable] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.rotated + self.current + self.changed + len(self.unreadable)


def rotate_all(
    outcome: Outcome,
    *,
    batch_size: int = 500,
    check: bool = False,
    after_batch: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Rotate every credential's ciphertext, counting into `outcome` as it goes (so a caller that is
    interrupted still knows what was done). With `check`, only count."""
    last_id = 0
    while True:
        batch = list(
            Credential.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "label", "owner__username", "ciphertext")[:batch_size]
        )
        if not batch:
            return outcome
        for pk, label, owner, token in batch:
            last_id = pk
            if crypto.is_current(token):
                outcome.current += 1
                continue
            try:
                rotated = crypto.rotate(token)
            except crypto.SecretUnreadable:
                outcome.unreadable.append(Unreadable(pk, label, owner or ""))
                continue
            # One UPDATE (its own transaction), applied only if the secret is still the one read above.
            written = check or Credential.objects.filter(pk=pk, ciphertext=token).update(ciphertext=rotated)
            if written:
                outcome.rotated += 1
            else:
                outcome.changed += 1
        if after_batch is not None:
            after_batch(outcome)
