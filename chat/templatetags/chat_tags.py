from django import template

from chat.rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown(text: str) -> str:
    """Model output as sanitised HTML (markdown-it-py with raw HTML off, then nh3); already marked safe."""
    return render_markdown(text or "")
