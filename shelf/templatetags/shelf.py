from django import template

register = template.Library()


@register.filter
def bytes(value) -> str:  # noqa: A001 - the filter's name in templates
    """Binary units, the way disk sizes are usually read: 64.0 MiB."""
    if value is None or value == "":
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)
