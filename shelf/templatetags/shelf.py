from django import template

from shelf.units import human_bytes

register = template.Library()


@register.filter
def bytes(value) -> str:  # noqa: A001 - the filter's name in templates
    """Binary units, the way disk sizes are usually read: 64.0 MiB."""
    return "—" if value is None or value == "" else human_bytes(value)
