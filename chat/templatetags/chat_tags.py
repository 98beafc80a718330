from django import template
from django.utils.safestring import mark_safe

from chat.rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown(text: str) -> str:
    """Model output as sanitised HTML (markdown-it-py with raw HTML off, then nh3)."""
    return mark_safe(render_markdown(text or ""))  # noqa: S308 — the output of the sanitiser
