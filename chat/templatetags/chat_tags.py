from django import template

from chat.rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown(text: str) -> str:
    """Model output as sanitised HTML (markdown-it-py with raw HTML off, then nh3); already marked safe."""
    return render_markdown(text or "")


@register.filter
def version_nav(message) -> dict | None:
    """Where `message` sits among its versions (from Retry): position, count, and its neighbours' ids."""
    versions = getattr(message, "versions", None) or [message.pk]
    if len(versions) < 2 or message.pk not in versions:
        return None
    at = versions.index(message.pk)
    return {
        "position": at + 1,
        "count": len(versions),
        "previous": versions[at - 1] if at > 0 else None,
        "next": versions[at + 1] if at + 1 < len(versions) else None,
    }
