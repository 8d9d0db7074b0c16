"""The catalog search through its one selector, on whichever database the suite runs (SQLite or PostgreSQL):
CI runs this file on both, so every expectation here is one both back ends meet."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from shelf.errors import RuleViolations
from shelf.products.models import Revision
from shelf.products.services import product_delist, product_revision_new, product_save_draft, product_submit
from shelf.storefront import search, selectors
from shelf.storefront.models import CatalogEntry, CatalogTerm
from shelf.storefront.selectors import catalog_product, catalog_search
from tests.storefront.conftest import approve


def names(page) -> list[str]:
    return [item.name for item in page.items]


def found(**kwargs) -> set[str]:
    return set(names(catalog_search(limit=100, **kwargs)))


def violation_fields(**kwargs) -> list[tuple[str, str]]:
    with pytest.raises(RuleViolations) as caught:
        catalog_search(**kwargs)
    return [(v.field, v.code) for v in caught.value.violations]


def test_tokens_are_bigrams_of_cjk_runs_and_folded_words():
    spelled = search._spell
    pairs, chars = [spelled(p) for p in ("云服", "服务", "务器")], [spelled(c) for c in "云服务器"]
    assert search.document_tokens("云服务器 LAMP") == [*pairs, *chars, "lamp"]
    assert search.document_tokens("Ｃａｆé8.2") == ["cafe", "8", "2"]
    assert all(t.isascii() and t.isalnum() for t in search.document_tokens("镜像 Ünïcode ελληνικά"))
    terms = search.query_terms("建站 Deb 建 x 7 42")
    assert terms == [
        search.Term(spelled("建站"), False),
        search.Term("deb", True),
        search.Term(spelled("建"), False),
        search.Term("x", False),  # one letter or digit: only itself, not every word it begins
        search.Term("7", False),
        search.Term("42", True),
    ]


def test_two_character_chinese_words_in_every_field(make_listed):
    make_listed(name="WordPress 建站", summary="一键部署的网站")
    make_listed(name="Redis", summary="高性能缓存镜像")
    make_listed(name="Nginx", tags=["反向代理"], details="支持镜像加速")
    make_listed(name="Kafka", software=["消息队列"])
    assert found(q="建站") == {"WordPress 建站"}
    assert found(q="镜像") == {"Redis", "Nginx"}
    assert found(q="代理") == {"Nginx"}
    assert found(q="队列") == {"Kafka"}
    assert found(q="网站") == {"WordPress 建站"}
    assert found(q="一键部署") == {"WordPress 建站"}
    assert found(q="部") == {"WordPress 建站"}  # one character, inside a run
    assert found(q="站") == {"WordPress 建站"}  # one character, the last of a run
    assert found(q="建网") == set()  # both characters occur, but not as a pair


def test_english_by_prefix_case_insensitive_and_every_word(make_listed, bob):
    make_listed(name="PostgreSQL 16", summary="Relational database", software=["PostgreSQL 16.2"])
    make_listed(name="MySQL 8", summary="Relational DATABASE server", details="Replication ready")
    make_listed(name="Gitea", summary="Git service", organization=bob.organizations.get())
    assert found(q="postgres") == {"PostgreSQL 16"}
    assert found(q="RELATION") == {"PostgreSQL 16", "MySQL 8"}
    assert found(q="relational replic") == {"MySQL 8"}
    assert found(q="database gitea") == set()
    assert found(q="bob") == {"Gitea"}  # the provider's organisation name, "Bob Cloud"
    assert found(q="16") == {"PostgreSQL 16"}
    assert found(q="g") == set() and found(q="8") == {"MySQL 8"}  # one letter or digit: that word only
    assert found(q="...") == set()  # nothing to search for matches nothing
    assert found(q="") == {"PostgreSQL 16", "MySQL 8", "Gitea"}


def test_name_match_ranks_above_details_match(make_listed):
    make_listed(name="Backup tool", details="Runs rsync nightly.")
    make_listed(name="Rsync server", details="Fast file sync.")
    make_listed(name="Storage box", summary="Built around rsync.")
    assert names(catalog_search(q="rsync")) == ["Rsync server", "Storage box", "Backup tool"]


def test_relevance_is_name_then_body_then_details_newest_first_within_each(make_listed):
    make_listed(name="Old rsync box")
    make_listed(name="Backup tool", details="Runs rsync nightly.")
    make_listed(name="Storage box", summary="Built around rsync, fast.")
    make_listed(name="Rsync server")
    make_listed(name="Sync box", tags=["rsync"])
    make_listed(name="Mirror rsync", summary="A fast mirror.")
    order = ["Mirror rsync", "Rsync server", "Old rsync box", "Sync box", "Storage box", "Backup tool"]
    assert names(catalog_search(q="rsync")) == order
    # Every word in the name, else every word in the name or the body, else the rest.
    assert names(catalog_search(q="rsync fast")) == ["Mirror rsync", "Storage box"]
    assert names(catalog_search(q="rsync mirror")) == ["Mirror rsync"]
    # The cursor carries the tier: pages of two walk the same order, across the tiers.
    walked, cursor = [], None
    while True:
        page = catalog_search(q="rsync", limit=2, cursor=cursor)
        walked += names(page)
        if not (cursor := page.next_cursor):
            break
    assert walked == order


def test_filters(make_listed):
    make_listed(
        name="A", category="website-cms", tags=["CMS", "php"], software=["WordPress 6"], regions=("ap-beijing",)
    )
    make_listed(
        name="B",
        category="website-blog",
        billing_mode="postpaid",
        price_hourly="0.50",
        regions=("ap-shanghai", "ap-beijing"),
    )
    make_listed(name="C", category="database-nosql", price_monthly="10.00", tags=["redis"])
    assert found(category="website") == {"A", "B"}  # a top level includes its subcategories
    assert found(category="website-blog") == {"B"}
    assert found(tag="cms") == {"A"}  # tags compare case-insensitively
    assert found(software="wordpress 6") == {"A"}
    assert found(billing_mode="postpaid") == {"B"}
    assert found(region="ap-beijing") == {"A", "B"}
    # Prices compare what a month costs: B is 0.50/hour, 360.00 a month.
    assert found(price_min="99") == {"A", "B"}
    assert found(price_max="99.00") == {"A", "C"} and found(price_max="98.99") == {"C"}
    assert found(price_min="300", price_max="400") == {"B"}
    assert found(category="website", region="ap-shanghai", q="b") == {"B"}


def test_facets_count_under_the_same_filters(make_listed):
    make_listed(name="A 镜像", category="website-cms", regions=("ap-beijing",))
    make_listed(name="B 镜像", category="website-blog", billing_mode="postpaid", regions=("ap-shanghai", "ap-beijing"))
    make_listed(name="C", category="database-nosql", regions=("ap-beijing",))
    facets = catalog_search(q="镜像").facets
    assert [(f.value, f.count, f.parent) for f in facets["category"]] == [
        ("website", 2, None),
        ("website-cms", 1, "website"),
        ("website-blog", 1, "website"),
    ]
    assert [(f.value, f.count) for f in facets["billing_mode"]] == [("prepaid", 1), ("postpaid", 1)]
    assert [(f.value, f.count) for f in facets["region"]] == [("ap-shanghai", 1), ("ap-beijing", 2)]
    everything = catalog_search().facets
    assert [(f.value, f.count) for f in everything["category"] if f.parent is None] == [("website", 2), ("database", 1)]
    assert catalog_search(billing_mode="postpaid").facets["region"][0].value == "ap-shanghai"


@pytest.mark.parametrize(
    ("sort", "q"), [("relevance", "web"), ("relevance", ""), ("newest", ""), ("price_asc", ""), ("price_desc", "tool")]
)
def test_cursor_walks_every_page_once(make_listed, sort, q):
    prices = ["30.00", "10.00", "20.00", "10.00", "50.00", "20.00", "40.00"]
    for i, price in enumerate(prices):
        make_listed(name=f"Tool {i} web", summary="web" * (i % 3 + 1), price_monthly=price)
    seen, cursor, pages = [], None, 0
    while True:
        page = catalog_search(q=q, sort=sort, cursor=cursor, limit=3)
        seen += page.items
        pages += 1
        assert page.count == 7
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and len({e.pk for e in seen}) == 7
    expected = catalog_search(q=q, sort=sort, limit=100).items
    assert [e.pk for e in seen] == [e.pk for e in expected]
    if sort == "price_asc":
        assert [str(e.price_sort) for e in seen] == sorted(prices, key=float)
    if sort == "price_desc":
        assert [str(e.price_sort) for e in seen] == sorted(prices, key=float, reverse=True)
    if sort == "newest" or (sort == "relevance" and not q):
        assert [e.listed_at for e in seen] == sorted((e.listed_at for e in seen), reverse=True)


def test_bad_parameters_are_named(db):
    assert violation_fields(sort="cheapest") == [("sort", "invalid")]
    assert violation_fields(billing_mode="free") == [("billing_mode", "invalid")]
    assert violation_fields(price_min="ten") == [("price_min", "invalid")]
    assert violation_fields(price_min="NaN") == [("price_min", "invalid")]
    assert violation_fields(price_min="-1") == [("price_min", "invalid")]
    assert violation_fields(price_min="20", price_max="10") == [("price_max", "below_min")]
    assert violation_fields(q="x" * 201) == [("q", "too_long")]
    assert violation_fields(q="a\x00b") == [("q", "nul_character")]
    assert violation_fields(category="nope") == [("category", "unknown")]
    assert violation_fields(region="mars-1") == [("region", "unknown")]
    assert violation_fields(limit="0") == [("limit", "invalid")]
    assert violation_fields(cursor="not-a-cursor") == [("cursor", "invalid")]


def test_a_cursor_of_another_sort_is_refused(make_listed):
    for i in range(3):
        make_listed(name=f"P{i}")
    cursor = catalog_search(sort="newest", limit=1).next_cursor
    assert cursor and catalog_search(sort="newest", cursor=cursor, limit=1).items
    assert violation_fields(sort="price_asc", cursor=cursor) == [("cursor", "invalid")]


@pytest.mark.parametrize(
    ("sort", "payload"),
    [
        ("newest", {"s": "newest", "k": "2026-01-01T00:00:00", "i": 1}),  # no time zone
        ("newest", {"s": "newest", "k": "2026-01-01T00:00:00+00:00", "i": 10**30}),
        ("newest", {"s": "newest", "k": "2026-01-01T00:00:00+00:00", "i": True}),
        ("price_asc", {"s": "price_asc", "k": "1E+999999", "i": 1}),
        ("price_asc", {"s": "price_asc", "k": "NaN", "i": 1}),
        ("relevance", {"s": "relevance", "k": 10**400, "i": 1}),
        ("relevance", {"s": "relevance", "k": "1.5", "i": 1}),
        ("newest", ["newest", 1]),
    ],
)
def test_a_forged_cursor_is_refused_not_a_server_error(make_listed, sort, payload):
    import base64
    import json

    make_listed(name="Forged 镜像")
    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    q = "镜像" if sort == "relevance" else ""
    assert violation_fields(sort=sort, q=q, cursor=cursor) == [("cursor", "invalid")]


def test_a_tiny_or_huge_price_is_no_server_error(make_listed):
    make_listed(name="Cheap", price_monthly="0.01")
    assert found(price_min="1E-999999") == {"Cheap"}
    assert violation_fields(price_max="1E+999999") == [("price_max", "invalid")]


def test_count_is_capped(make_listed, monkeypatch):
    for i in range(3):
        make_listed(name=f"P{i}")
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    page = catalog_search()
    assert (page.count, page.count_capped) == (2, True)
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    assert (catalog_search().count, catalog_search().count_capped) == (3, False)


def test_only_listed_products_appear(make_listed):
    for status in ("draft", "in_review", "rejected", "delisted"):
        make_listed(name=f"Hidden {status}", status=status)
    visible = make_listed(name="Hidden but listed")
    assert found(q="hidden") == {"Hidden but listed"}
    assert found() == {"Hidden but listed"}
    assert CatalogEntry.objects.count() == 1
    assert catalog_product(product_id=visible.product_id) == visible
    for revision in Revision.objects.exclude(status="listed"):
        assert catalog_product(product_id=revision.product_id) is None
    assert catalog_product(product_id="not-a-uuid") is None


def test_delisting_removes_and_a_new_revision_replaces_the_text(make_listed, alice):
    listed = make_listed(name="Vintage name", summary="kept summary", tags=["legacy"])
    product = listed.product
    draft = product_revision_new(actor=alice, product=product)
    draft = product_save_draft(
        actor=alice, revision=draft, lock_version=draft.lock_version, changes={"name": "Fresh name", "tags": ["modern"]}
    )
    product_submit(actor=alice, revision=draft)
    assert found(q="vintage") == {"Vintage name"}  # the listed revision stays on sale during review
    approve(Revision.objects.get(pk=draft.pk))
    assert found(q="vintage") == set() and found(q="legacy") == set() and found(tag="legacy") == set()
    assert found(q="fresh") == {"Fresh name"} and found(tag="modern") == {"Fresh name"}
    assert found(q="kept") == {"Fresh name"}
    assert CatalogEntry.objects.get().revision_id == draft.pk
    product_delist(actor=alice, product=product, reason="End of life.")
    assert found(q="fresh") == set() and CatalogEntry.objects.count() == 0 and CatalogTerm.objects.count() == 0


def test_index_follows_the_listing_transaction(make_listed, alice):
    listed = make_listed(name="Steady product")
    with pytest.raises(RuntimeError), transaction.atomic():
        product_delist(actor=alice, product=listed.product, reason="Oops.")
        assert found(q="steady") == set()  # gone inside the transaction already
        raise RuntimeError("rolled back")
    assert found(q="steady") == {"Steady product"}  # and back with the rollback


def test_reindex_rebuilds_the_same_index(make_listed):
    make_listed(name="WordPress 建站", category="website-cms")
    make_listed(name="Redis 镜像", category="database-nosql", billing_mode="postpaid", price_hourly="1.00")
    before = [(e.product_id, e.name, e.price_sort) for e in catalog_search(sort="price_asc").items]
    CatalogEntry.objects.all().delete()
    search.index_clear()
    assert found(q="建站") == set()
    call_command("catalog_reindex", batch_size=1)
    call_command("catalog_reindex")  # again: nothing doubles
    assert [(e.product_id, e.name, e.price_sort) for e in catalog_search(sort="price_asc").items] == before
    assert found(q="建站") == {"WordPress 建站"} and found(q="镜像") == {"Redis 镜像"}
    assert CatalogEntry.objects.count() == 2
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {search.FTS_TABLE}")  # noqa: S608 - a constant
            assert cursor.fetchone()[0] == 2


def test_a_search_leaves_the_callers_transaction_as_it_was(make_listed):
    make_listed(name="Planner 镜像")
    if connection.vendor != "postgresql":
        pytest.skip("the plan setting is PostgreSQL's")
    with connection.cursor() as cursor:
        assert found(q="镜像") == {"Planner 镜像"}
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"


def test_every_page_of_a_search_counts_its_facets_once(make_listed, django_assert_num_queries):
    for n in range(5):
        make_listed(name=f"Image {n}", category="os-linux")
    first = catalog_search(q="image", limit=2)
    # the reference data, the first tier's ids (SQLite) and the page, the catalog version, no facet count
    with django_assert_num_queries(4 if connection.vendor == "sqlite" else 5):
        second = catalog_search(q="image", limit=2, cursor=first.next_cursor)
    assert second.facets == first.facets and second.count == first.count == 5
