"""`shelf catalog ...`: search the public catalog and show a listed product, as any buyer (no login needed)."""

import json
from html.parser import HTMLParser

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from shelf.cli.output import api_session, out

app = typer.Typer(help="The public catalog: search listed products, show one.", no_args_is_help=True)


def price_text(prices: dict) -> str:
    """What it costs, the way the product page says it: per month first."""
    currency = prices.get("currency") or ""
    if prices.get("billing_mode") == "postpaid":
        return f"{prices.get('price_hourly')} {currency}/hour (≈ {prices.get('monthly')}/month)"
    parts = [f"{prices['price_monthly']} {currency}/month"] if prices.get("price_monthly") else []
    if prices.get("price_yearly"):
        parts.append(f"{prices['price_yearly']} {currency}/year")
    return ", ".join(parts) or "-"


class _TextOf(HTMLParser):
    BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "pre", "blockquote"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_data(self, data):
        self.parts.append(data)


def html_text(html: str) -> str:
    """The (already sanitized) details as plain text for a terminal."""
    parser = _TextOf()
    parser.feed(html or "")
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)


def print_items(items: list[dict]) -> None:
    table = Table("id", "name", "provider", "category", "price", box=box.SIMPLE, show_edge=False, pad_edge=False)
    for item in items:
        table.add_row(
            Text(item["id"]),
            Text(item["name"]),
            Text(item["provider"]),
            Text(" / ".join(c["name"] for c in item["category"])),
            Text(price_text(item["prices"])),
        )
    out.print(table)


@app.command("search")
def search(
    words: list[str] = typer.Argument(None, help="Words to find (Chinese or English); every word must match."),
    category: str = typer.Option(None, help="A category slug (see `shelf categories`); includes subcategories."),
    tag: str = typer.Option(None, help="Only products with this tag."),
    region: str = typer.Option(None, help="Only products delivered in this region code."),
    billing_mode: str = typer.Option(None, "--billing-mode", help="prepaid or postpaid."),
    sort: str = typer.Option(None, help="relevance (default), newest, price_asc or price_desc."),
    limit: int = typer.Option(20, help="How many products (1 to 100)."),
    as_json: bool = typer.Option(False, "--json", help="Print the API's answer as JSON."),
):
    """Search the listed products."""
    params = {
        "q": " ".join(words or []),
        "category": category,
        "tag": tag,
        "region": region,
        "billing_mode": billing_mode,
        "sort": sort,
        "limit": limit,
    }
    with api_session(anonymous=True) as api:
        page = api.get("/catalog", params={k: v for k, v in params.items() if v not in (None, "")})
    if as_json:
        out.print_json(json.dumps(page, ensure_ascii=False))
        return
    count = f"{page['count']}+" if page["count_capped"] else str(page["count"])
    if not page["items"]:
        out.print("No listed product matches.")
        return
    print_items(page["items"])
    more = " (more: narrow the search or raise --limit)" if page["next_cursor"] else ""
    out.print(f"{len(page['items'])} of {count} listed products{more}.")


@app.command("show")
def show(
    product_id: str = typer.Argument(..., help="The product id, as `shelf catalog search` lists it."),
    as_json: bool = typer.Option(False, "--json", help="Print the API's answer as JSON."),
):
    """Show a listed product: what it is, what it costs, where it runs."""
    with api_session(anonymous=True) as api:
        product = api.get(f"/catalog/{product_id}")
    if as_json:
        out.print_json(json.dumps(product, ensure_ascii=False))
        return
    out.print(f"[bold]{escape(product['name'])}[/] {escape(product['version'])}  [dim]{product['id']}[/]")
    out.print(escape(product["summary"]))
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("price", Text(price_text(product["prices"])))
    table.add_row("provider", Text(product["provider"]))
    table.add_row("category", Text(" / ".join(c["name"] for c in product["category"])))
    table.add_row("regions", Text(", ".join(f"{r['name']} ({r['code']})" for r in product["regions"])))
    table.add_row("tags", Text(", ".join(product["tags"])))
    table.add_row("software", Text(", ".join(product["software"])))
    if product.get("document"):
        document = product["document"]
        table.add_row("document", Text(f"{document['filename']}  {document['url']}"))
    if product.get("agreement"):
        table.add_row("agreement", Text(product["agreement"]["title"]))
    table.add_row("listed", Text(product.get("listed_at") or "-"))
    out.print(table)
    details = html_text(product["details_html"])
    if details:
        out.print()
        out.print(Text(details))


@app.command("featured")
def featured(as_json: bool = typer.Option(False, "--json", help="Print the API's answer as JSON.")):
    """The products featured on the home page, in order."""
    with api_session(anonymous=True) as api:
        items = api.get("/featured")
    if as_json:
        out.print_json(json.dumps(items, ensure_ascii=False))
        return
    if not items:
        out.print("No product is featured.")
        return
    print_items(items)


@app.command("feature")
def feature(
    product_id: str = typer.Argument(..., help="The product id, as `shelf catalog search` lists it."),
    remove: bool = typer.Option(False, "--remove", help="Take it off the home page instead."),
):
    """Operators: feature a listed product on the home page (after those featured already), or --remove it."""
    with api_session() as api:
        if remove:
            api.request("DELETE", f"/featured/{product_id}")
            out.print(f"{product_id} is no longer featured.")
        else:
            api.request("PUT", f"/featured/{product_id}")
            out.print(f"{product_id} is featured on the home page.")
