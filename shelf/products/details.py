"""Product details: Markdown written by the provider, rendered and sanitized with nh3 before anyone sees it.

Nothing in the rendered HTML may make a reader's browser fetch from another site (no tracking pixels, no iframes,
no styles): an image must be a path on Shelf itself. `external_images` names the ones that are not, so the rules
report them on `details`; the renderer drops them anyway, and the Content-Security-Policy (shelf.security) blocks
whatever else would slip through.
"""

import re
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "del",
    "s",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


# A scheme ("https:"), or what a browser reads as another host: "//host", or a backslash in either place (a browser
# reads "\" as "/").
_OFF_SITE = re.compile(r"^(?:[a-z][a-z0-9+.\-]*:|[/\\]{2})", re.IGNORECASE)


def is_off_site(url: str) -> bool:
    # Browsers drop tabs and newlines inside URLs and leading control characters and spaces before parsing them.
    cleaned = re.sub(r"[\t\n\r]", "", url).lstrip("\x00- ")
    return bool(_OFF_SITE.match(cleaned))


def _keep_on_site(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and is_off_site(value):
        return None
    return value


def _clean(html: str, *, attribute_filter=None) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=attribute_filter,
    )


def render_details(source: str) -> str:
    """HTML that keeps formatting but no script, event handler, style, javascript: URL or image from another site."""
    return _clean(_markdown.render(source or ""), attribute_filter=_keep_on_site)


class _ImageSources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources += [value for name, value in attrs if name == "src" and value]


def external_images(source: str) -> list[str]:
    """The image URLs in the details that point to another site, as the sanitizer would have kept them."""
    parser = _ImageSources()
    parser.feed(_clean(_markdown.render(source or "")))
    parser.close()
    return [url for url in parser.sources if is_off_site(url)]
