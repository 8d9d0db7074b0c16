"""`shelf catalog search` and `shelf catalog show` against a live server, with and without a login."""

import json

import pytest

from shelf.accounts.services import token_create
from tests.storefront.conftest import listed_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listed(alice):
    organization = alice.organizations.get()
    wordpress = listed_product(
        organization,
        name="WordPress 建站",
        summary="一键部署的网站镜像",
        category="website-cms",
        details="## 功能\n\n- 主题\n- 插件",
        regions=("ap-guangzhou", "ap-beijing"),
    )
    listed_product(
        organization, name="Redis cache", category="database-nosql", billing_mode="postpaid", price_hourly="0.50"
    )
    listed_product(organization, name="Hidden draft 建站", status="draft")
    return wordpress


def test_search_anonymously_by_a_chinese_word(shelf_cli, listed):
    result = shelf_cli("catalog", "search", "建站")
    assert result.returncode == 0, result.stderr
    assert "WordPress 建站" in result.stdout and str(listed.product_id) in result.stdout
    assert "Hidden" not in result.stdout and "Redis" not in result.stdout
    assert "99.00 CNY/month" in result.stdout and "1 of 1 listed products" in result.stdout


def test_search_by_category_as_json_with_a_token(shelf_cli, listed, bruce):
    token = token_create(user=bruce, name="cli")[1]
    result = shelf_cli("catalog", "search", "--category", "database", "--json", token=token)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert [item["name"] for item in page["items"]] == ["Redis cache"]
    assert page["items"][0]["prices"]["monthly"] == "360.00"
    assert shelf_cli("catalog", "search", "re", "ca").stdout.count("Redis cache") == 1  # English prefixes


def test_search_reports_bad_input_per_parameter(shelf_cli, listed):
    result = shelf_cli("catalog", "search", "x", "--sort", "cheapest")
    assert result.returncode == 1
    assert "sort" in result.stderr and "relevance" in result.stderr
    assert shelf_cli("catalog", "search", "没有这个").stdout.strip() == "No listed product matches."


def test_show(shelf_cli, listed):
    result = shelf_cli("catalog", "show", str(listed.product_id))
    assert result.returncode == 0, result.stderr
    for text in (
        "WordPress 建站",
        "v1.0",
        "Alice Images",
        "99.00 CNY/month",
        "999.00 CNY/year",
        "ap-beijing",
        "guide.pdf",
        "功能",
        "- 插件",
    ):
        assert text in result.stdout, text
    as_json = json.loads(shelf_cli("catalog", "show", str(listed.product_id), "--json").stdout)
    assert as_json["id"] == str(listed.product_id) and as_json["document"]["filename"] == "guide.pdf"


def test_show_an_unlisted_product_is_not_found(shelf_cli, alice):
    draft = listed_product(alice.organizations.get(), name="Draft", status="draft")
    result = shelf_cli("catalog", "show", str(draft.product_id))
    assert result.returncode == 1 and "404" in result.stderr


def test_operators_feature_a_product_and_everyone_lists_the_featured(shelf_cli, listed, olivia, bruce):
    assert shelf_cli("catalog", "featured").stdout.strip() == "No product is featured."
    refused = shelf_cli("catalog", "feature", str(listed.product_id), token=token_create(user=bruce, name="cli")[1])
    assert refused.returncode == 1
    operator = token_create(user=olivia, name="cli")[1]
    result = shelf_cli("catalog", "feature", str(listed.product_id), token=operator)
    assert result.returncode == 0, result.stderr
    shown = shelf_cli("catalog", "featured")
    assert "WordPress 建站" in shown.stdout and "Redis" not in shown.stdout
    assert shelf_cli("catalog", "feature", str(listed.product_id), "--remove", token=operator).returncode == 0
    assert json.loads(shelf_cli("catalog", "featured", "--json").stdout) == []
