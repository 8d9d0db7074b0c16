"""`{% prereview_hits revision %}`: the pre-review warnings of a revision, for pages that only have the revision."""

from django import template

from shelf.prereview.checks import prereview

register = template.Library()


@register.inclusion_tag("prereview/_hits.html")
def prereview_hits(revision):
    return {"hits": prereview(revision) if revision is not None else None}
