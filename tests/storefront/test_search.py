"""The catalog search through its one selector, on whichever database the suite runs (SQLite or PostgreSQL)."""

from shelf.storefront.selectors import catalog_search


def names(page) -> list[str]:
    return [item.name for item in page.items]


def test_two_character_chinese_word_and_english_prefix(make_listed):
    make_listed(name="WordPress 建站", summary="一键部署的网站")
    make_listed(name="Redis 缓存", summary="高性能镜像")
    assert names(catalog_search(q="建站")) == ["WordPress 建站"]
    assert names(catalog_search(q="镜像")) == ["Redis 缓存"]
    assert names(catalog_search(q="wordp")) == ["WordPress 建站"]
    assert names(catalog_search(q="REDIS")) == ["Redis 缓存"]
