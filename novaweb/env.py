"""Tiny helpers that read configuration from the environment (the only place settings come from)."""

import os

TRUE = {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in TRUE


def env_list(name: str, default: list[str] | None = None, sep: str = ",") -> list[str]:
    value = os.environ.get(name, "")
    items = [item.strip() for item in value.split(sep) if item.strip()]
    return items or list(default or [])


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "").strip() or default)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number") from exc
