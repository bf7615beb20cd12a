"""Customer text in templates, as the reader may see it (see ``feedback.privacy``).

``{{ item|readable:scope }}`` for pages (``scope`` comes from the context processor);
``{{ item|redacted }}`` where there is no reader to ask about (emails).
"""

from __future__ import annotations

from django import template

from opencem.accounts.selectors import Scope
from opencem.feedback.models import FeedbackItem
from opencem.feedback.privacy import readable_text, redacted_text

register = template.Library()


@register.filter
def readable(item: FeedbackItem, scope: Scope | None) -> str:
    """The item's text for this reader; redacted when no scope is known."""
    if not isinstance(scope, Scope):
        return redacted_text(item)
    return readable_text(item=item, scope=scope)


@register.filter
def redacted(item: FeedbackItem) -> str:
    """The item's text without personal data."""
    return redacted_text(item)
