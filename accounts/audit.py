"""The audit log: one call records who did what to which key, grant or person. Never pass a secret."""

from accounts.models import AuditEvent


def record_event(actor, action: str, target, *, label: str = "", **detail) -> AuditEvent:
    """Record that `actor` did `action` (e.g. "key.created", "grant.revoked", "role.changed") to `target`.

    `target` is a model instance (its class name and pk are kept) or None; `label` is how the log names it
    (defaults to str(target)); `detail` holds small JSON-safe facts such as {"from": "member", "to": "admin"}.
    Call it inside the transaction of the change it describes, so the log and the change land together.
    """
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "system",
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "pk", None),
        target_label=(label or (str(target) if target is not None else ""))[:200],
        detail=detail,
    )
