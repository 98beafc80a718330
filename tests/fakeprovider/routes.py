"""Where each dialect lives on the fake, and per-dialect request details."""

from __future__ import annotations

from tests.fakeprovider.dialects import FAMILY
from tests.fakeprovider.directives import Directives

BASE_PATHS = {
    "novisurf": "/novisurf/v1",
    "novakit": "/novakit/api/v1",
    "novita": "/novita/v3/openai",
    "novita-openai": "/novita/openai",
    "openai": "/openai/v1",
}
# Longest prefix first: Novita's newer base is served both as /openai/... and /openai/v1/... (its curl docs).
_ROUTES = sorted(
    [(path, dialect) for dialect, path in BASE_PATHS.items()] + [("/novita/openai/v1", "novita-openai")],
    key=lambda route: -len(route[0]),
)


def route(path: str) -> tuple[str, str] | None:
    """(prefix, dialect) serving `path`, or None."""
    for prefix, dialect in _ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix, dialect
    return None


def choice_count(dialect: str, body: dict, directives: Directives) -> int:
    """Choices to stream: Novita honours `n` (body first, then the directive); the others always send one."""
    if FAMILY[dialect] != "novita":
        return 1
    requested = body.get("n")
    if isinstance(requested, int) and not isinstance(requested, bool):
        return max(1, min(8, requested))
    return directives.n
