"""Template filters for the member screens: Capillary's keys in staff words."""

from django import template

from customers.members.display import IDENTIFIER_WORDS

register = template.Library()


@register.filter
def identifier_word(kind: str) -> str:
    """`externalId` → "External id", `cardnumber` → "Card"; other kinds as Capillary says."""
    return IDENTIFIER_WORDS.get(kind, kind)
