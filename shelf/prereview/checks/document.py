"""The product document: (almost) no text, or the operators' words in its text.

Extracting the text, within fixed bounds, is shelf.prereview.documents.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from shelf.prereview import documents
from shelf.prereview.checks.hits import Hit
from shelf.prereview.checks.words import Lexicon, Normalized


def document_check(document, lexicon: Lexicon) -> list[Hit]:
    if document is None:
        return []
    text = documents.document_text(document)
    if text is None:
        return []  # not extractable (doc, ppt, zip, rar) or not decidable: no hit
    if not documents.has_text(text):
        return [
            Hit(
                "document",
                "document_no_text",
                _(
                    "Document: “%(name)s” has (almost) no text, e.g. only images or scanned pages. The standard asks for a "
                    "document that lets buyers use the product fully: a guide with key steps and screenshots."
                )
                % {"name": document.filename},
                document.filename,
            )
        ]
    return lexicon.hits("document", Normalized(text))
