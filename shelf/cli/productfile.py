"""The product file: the YAML file `shelf product apply` reads, its keys, how it is parsed and checked, and
the API fields it maps to.

Only the file's shape is checked here (known keys, the type of each value, that the pictures and the document
exist); the rules of a product live on the server (shelf.products.rules). Like the rest of the CLI this module
talks to nothing but the file system: no Django, no Shelf app.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEXT_KEYS = ("access_type", "category", "name", "version", "summary", "details")
LIST_KEYS = ("tags", "software")
PRICE_KEYS = {"yearly": "price_yearly", "monthly": "price_monthly", "hourly": "price_hourly"}
BILLING_KEYS = ("mode", "currency", *PRICE_KEYS)
FILE_KEYS = (
    "id",
    "organization",
    *TEXT_KEYS,
    *LIST_KEYS,
    "agreement",
    "deliveries",
    "ports",
    "billing",
    "pictures",
    "document",
)
EXAMPLE = """\
category: databases-mysql            # a leaf slug, see `shelf categories`
name: LAMP 环境（Debian 12）
tags: [web, lamp]
software: [Apache 2.4, MySQL 8.0, PHP 8.2]
version: v1.0
agreement: 3                         # an agreement id, or {title: ..., body: ...} for a new one
deliveries: {ap-guangzhou: 1b4e28ba-2fa1-11d2-883f-0016d3cca427}
ports: [80, 443]                     # TCP ports the servers need open besides SSH (22)
billing: {mode: prepaid, yearly: "999.00", monthly: "99.00", currency: CNY}
summary: A ready LAMP stack.
details: |
  ## Features
  Apache, MySQL and PHP, ready to use.
pictures: [cover.png]                # 390 x 260 px, 72 dpi; paths relative to this file
document: manual.pdf"""


class FileProblem(Exception):
    """The product file itself is unusable (not a rule of the product): nothing is sent to the server."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class ProductFile:
    path: Path
    data: dict[str, Any]
    pictures: list[tuple[str, Path]] | None = None  # (as written in the file, path)
    document: tuple[str, Path] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def id(self) -> str | None:
        value = self.data.get("id")
        return None if value in (None, "") else str(value)


def _text(node: yaml.Node) -> str | None:
    """A scalar exactly as written in the file: `99.50` stays "99.50", `v1.10` never becomes a float, null is None."""
    if node.tag == "tag:yaml.org,2002:null":
        return None
    return node.value


def _keep_scalar_text(root: yaml.MappingNode, data: dict) -> None:
    """Replace what YAML typed (floats, ints, dates, booleans) by the written text where Shelf expects text.

    Prices above all: a YAML float like 99.5 would reach the API through binary floating point; its written
    text goes as the decimal string the API wants.
    """
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key in TEXT_KEYS and isinstance(value_node, yaml.ScalarNode):
            data[key] = _text(value_node)
        elif key in LIST_KEYS and isinstance(value_node, yaml.SequenceNode):
            data[key] = [
                _text(n) if isinstance(n, yaml.ScalarNode) else data[key][i] for i, n in enumerate(value_node.value)
            ]
        elif key == "billing" and isinstance(value_node, yaml.MappingNode):
            for sub_key, sub_value in value_node.value:
                if (
                    isinstance(sub_key, yaml.ScalarNode)
                    and sub_key.value in BILLING_KEYS
                    and isinstance(sub_value, yaml.ScalarNode)
                ):
                    data[key][sub_key.value] = _text(sub_value)
        elif key == "deliveries" and isinstance(value_node, yaml.MappingNode):
            pairs = value_node.value
            if all(isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode) for k, v in pairs):
                data[key] = {k.value: _text(v) for k, v in pairs}


def read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileProblem([f"cannot read {path}: {exc}"]) from exc
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return {}
        if not isinstance(root, yaml.MappingNode):
            raise FileProblem([f"{path}: the file must be a mapping of keys to values, like:\n{EXAMPLE}"])
        data = loader.construct_document(root)
        _keep_scalar_text(root, data)
    except yaml.YAMLError as exc:
        raise FileProblem([f"{path} is not valid YAML: {exc}"]) from exc
    finally:
        loader.dispose()
    return data


def load_product_file(path: Path) -> ProductFile:
    """Read and check the shape of a product file; every problem is listed at once."""
    spec = ProductFile(path=path, data=read_yaml(path))
    data, problems = spec.data, spec.problems
    unknown = [str(k) for k in data if k not in FILE_KEYS]
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}; the keys are {', '.join(FILE_KEYS)}")
    for key in TEXT_KEYS:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            problems.append(f"{key}: write it as text")
    for key in LIST_KEYS:
        if key in data and data[key] is not None:
            if not isinstance(data[key], list) or not all(isinstance(v, str | None) for v in data[key]):
                problems.append(f"{key}: write a list of texts, like [web, lamp]")
            else:
                data[key] = ["" if v is None else v for v in data[key]]
    agreement = data.get("agreement")
    if isinstance(agreement, str) and agreement.strip().isdigit():
        data["agreement"] = int(agreement)
    elif isinstance(agreement, dict):
        if set(agreement) - {"title", "body"} or not all(isinstance(agreement.get(k), str) for k in ("title", "body")):
            problems.append("agreement: an agreement id, or {title: ..., body: ...} to add a new one")
    elif agreement is not None and (isinstance(agreement, bool) or not isinstance(agreement, int)):
        problems.append("agreement: an agreement id, or {title: ..., body: ...} to add a new one")
    deliveries = data.get("deliveries")
    if deliveries is not None and not (
        isinstance(deliveries, dict) and all(isinstance(v, str | None) for v in deliveries.values())
    ):
        problems.append("deliveries: a mapping of region code to image id, like {ap-guangzhou: <image id>}")
    ports = data.get("ports")
    if ports is not None and not (
        isinstance(ports, list) and all(isinstance(p, int) and not isinstance(p, bool) for p in ports)
    ):
        problems.append("ports: a list of TCP port numbers, like [80, 443]")
    billing = data.get("billing")
    if billing is not None:
        if not isinstance(billing, dict):
            problems.append('billing: a mapping like {mode: prepaid, yearly: "999.00", monthly: "99.00"}')
        else:
            extra = [str(k) for k in billing if k not in BILLING_KEYS]
            if extra:
                problems.append(f"billing: unknown key(s) {', '.join(extra)}; the keys are {', '.join(BILLING_KEYS)}")
    base = path.parent
    pictures = data.get("pictures", ...)
    if pictures is not ...:
        if pictures is None:
            pictures = []
        if not isinstance(pictures, list) or not all(isinstance(p, str) for p in pictures):
            problems.append("pictures: a list of file paths, relative to the product file")
        else:
            spec.pictures = [(p, base / p) for p in pictures]
            problems += [f"pictures: no file {path}" for _p, path in spec.pictures if not path.is_file()]
    document = data.get("document")
    if "document" in data and document is not None:
        if not isinstance(document, str):
            problems.append("document: a file path, relative to the product file")
        else:
            spec.document = (document, base / document)
            if not spec.document[1].is_file():
                problems.append(f"document: no file {spec.document[1]}")
    elif "document" in data:
        problems.append("document: a document cannot be removed, only replaced; give the path of the new one")
    if problems:
        raise FileProblem(problems)
    return spec


def product_fields(spec: ProductFile, *, current: dict | None, agreements: list[dict]) -> dict:
    """The API fields the file sets. `current` is the product as the server has it (None when creating)."""
    data = spec.data
    fields: dict[str, Any] = {}
    for key in TEXT_KEYS:
        if key in data:
            fields[key] = data[key] if key == "category" else (data[key] or "")
    for key in LIST_KEYS:
        if key in data:
            fields[key] = data[key] or []
    if "agreement" in data:
        agreement = data["agreement"]
        if isinstance(agreement, dict):
            fields.update(_agreement_fields(agreement, agreements, organization=(current or {}).get("organization")))
        else:
            fields["agreement"] = agreement
    if "deliveries" in data:
        wanted = {str(region): image for region, image in (data["deliveries"] or {}).items()}
        # The file lists every region sold in: regions it no longer names are removed.
        removed = {region: None for region in (current or {}).get("deliveries", {}) if region not in wanted}
        fields["deliveries"] = {**wanted, **removed}
    if "ports" in data:
        fields["ports"] = data["ports"] or []
    if "billing" in data:
        billing = data["billing"] or {}
        fields["billing_mode"] = billing.get("mode") or ""
        for key, api_field in PRICE_KEYS.items():
            value = billing.get(key)
            # Prices are the text written in the file (see _keep_scalar_text); a price not given is cleared.
            fields[api_field] = None if value in (None, "") else str(value)
        if billing.get("currency"):
            fields["currency"] = billing["currency"]
    if current is None and data.get("organization"):
        fields["organization"] = data["organization"]
    return fields


def _agreement_fields(agreement: dict, agreements: list[dict], *, organization: str | None) -> dict:
    """Reuse an agreement with the same title and body, so applying the same file twice adds no second copy."""
    title, body = agreement["title"].strip(), agreement["body"].strip()
    for candidate in agreements:
        if (
            candidate.get("is_active")
            and candidate["title"].strip() == title
            and candidate["body"].strip() == body
            and (organization is None or candidate["organization"] in (None, organization))
        ):
            return {"agreement": candidate["id"]}
    return {"new_agreement": {"title": title, "body": body}}
