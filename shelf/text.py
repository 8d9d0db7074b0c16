"""Text that may never enter Shelf, refused where input enters: the one rule, for the API, the console and the CLI.

- NUL (U+0000) in any text: PostgreSQL cannot store it (SQLite can, so without this the two disagree), and a
  filter holding it fails inside the database driver. Refused everywhere, naming the field.
- Unicode bidirectional controls (U+202A-U+202E, U+2066-U+2069) in names: they reorder what a reader sees,
  so a product or image name could display as another one. Refused in names; free text keeps them.
"""

from collections.abc import Mapping
from typing import Any, ClassVar, get_args

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shelf.errors import Violation

NUL = "\x00"
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_nul(value: Any) -> bool:
    """NUL anywhere in a string, or in any key or item of the lists and objects a JSON body holds."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


def has_bidi_control(value: str | None) -> bool:
    return bool(value) and not BIDI_CONTROLS.isdisjoint(value)


def nul_message() -> str:
    return _("Text cannot contain NUL (\\x00) characters.")


def object_message() -> str:
    return _("Send a JSON object here.")


def bidi_message() -> str:
    return _(
        "Names cannot contain Unicode bidirectional control characters (U+202A to U+202E, U+2066 to U+2069): "
        "they can make a name display as something else."
    )


def name_violations(field: str, value: str | None) -> list[Violation]:
    """What a name (product, image, agreement, organisation, token, username) may not hold, beside its own rules."""
    if has_nul(value):
        return [Violation(field, "nul_character", nul_message())]
    if has_bidi_control(value):
        return [Violation(field, "bidi_control", bidi_message())]
    return []


def _document_rules(schema: dict[str, Any], cls: type) -> None:
    """Write into the OpenAPI schema what the service enforces: required fields and limits (see InputSchema)."""
    properties = schema.get("properties", {})
    for name, constraints in {**{f: {} for f in cls.required_fields}, **cls.field_rules}.items():
        prop = properties[name]
        constraints = dict(constraints)
        if "description" in constraints:
            prop["description"] = constraints.pop("description")
        branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
        if name in cls.required_fields:
            # Not nullable: the service answers a missing or null value with its own 422 naming the field.
            if len(branches) == 1:
                prop.pop("anyOf")
                prop.update(branches[0])
                branches = [prop]
            prop.pop("default", None)
        for branch in branches or [prop]:
            branch.update(_constraints_for(branch, constraints))
    if cls.required_fields:
        schema["required"] = sorted({*schema.get("required", []), *cls.required_fields})


def _constraints_for(branch: dict, constraints: dict) -> dict:
    """The constraints that apply to this branch's type (a string limit to a string, an item limit to an array)."""
    kind = branch.get("type")
    applies = {"string": {"maxLength", "minLength", "enum"}, "array": {"maxItems", "minItems", "items"}}
    out = {}
    for key, value in constraints.items():
        if key.startswith("x-") or key in applies.get(kind, ()):
            out[key] = {**branch.get("items", {}), **value} if key == "items" else value
    return out


def _wants_number_not_bool(annotation: Any) -> bool:
    """An int or float field that does not also take a bool (pydantic would read true as 1 there)."""
    kinds = set(get_args(annotation)) or {annotation}
    return bool(kinds & {int, float}) and bool not in kinds


class InputSchema(Schema):
    """The base of every API input schema: a field holding NUL anywhere is a 422 naming that field.

    Fields stay optional in the model so that the service answers with its own per-field message, and the
    OpenAPI document still says what the service enforces: `required_fields` are required and not nullable,
    `field_rules` adds each field's limits (taken from the rules module that enforces them).
    """

    required_fields: ClassVar[tuple[str, ...]] = ()
    field_rules: ClassVar[dict[str, dict[str, Any]]] = {}
    model_config = ConfigDict(json_schema_extra=_document_rules)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads true and false as 1 and 0 where a number is expected; a client that sends them means
        # something else (a size of `false` is not an empty file).
        if isinstance(value, bool) and _wants_number_not_bool(cls.model_fields[info.field_name].annotation):
            raise PydanticCustomError("bool_not_number", _("Send a number here, not true or false."))
        return value

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value: Any) -> Any:
        # ninja's schemas read attributes of whatever they are given (that is how outputs work), so `false` or "x"
        # where an object is expected (a nested new agreement, say) would pass as an empty one.
        if not isinstance(getattr(value, "_obj", value), Mapping):  # ninja hands input over in a DjangoGetter
            raise PydanticCustomError("object_expected", object_message())
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any, info: ValidationInfo) -> Any:
        if has_nul(value):
            raise PydanticCustomError("nul_character", nul_message())
        return value


def first_nul_field(data) -> str | None:
    """The first key of a QueryDict (query string or form body) whose name or any value holds NUL."""
    for key, values in data.lists():
        if NUL in key or any(NUL in v for v in values if isinstance(v, str)):
            return key.replace(NUL, "\\x00")
    return None


class RefuseNulMiddleware:
    """NUL in a query string or a form body is refused before any view filters or saves with it.

    JSON bodies are checked by InputSchema, per field; this covers what no schema or form sees whole: the
    list filters of the API (`?status=`, `?category=`) and the console's pages that read request.POST
    directly (the product wizard). 422 naming the field: JSON in the one error shape under /api/, text
    elsewhere. Multipart bodies are not parsed here (a file upload must not be read twice).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = first_nul_field(request.GET)
        if field is None and request.content_type == "application/x-www-form-urlencoded":
            try:
                field = first_nul_field(request.POST)
            except RequestDataTooBig:
                field = None  # the view meets the same limit and answers 413
        if field is None:
            return self.get_response(request)
        violation = Violation(field, "nul_character", nul_message())
        if request.path.startswith("/api/"):
            return JsonResponse({"errors": [violation.as_dict()]}, status=422)
        return HttpResponse(f"{field}: {violation.message}", status=422, content_type="text/plain; charset=utf-8")
