"""The integrated-software cross-check against a scan's package inventory."""

from shelf.reviews.crosscheck import crosscheck

PACKAGES = [
    {"name": "apache2", "version": "2.4.62-1~deb12u2"},
    {"name": "mariadb-server", "version": "1:10.11.6-0+deb12u1"},
    {"name": "php8.2-fpm", "version": "8.2.26-1~deb12u1"},
    {"name": "redis-server", "version": "5:7.0.15-1~deb12u1"},
    {"name": "nginx", "version": "1.22.1-9"},
]


def results(declared):
    return [(c.declared, c.result, c.package) for c in crosscheck(declared, PACKAGES)]


def test_found_found_under_another_name_and_not_found():
    assert results(["nginx", "Apache 2.4", "MySQL", "PHP 8.2", "Redis", "MongoDB"]) == [
        ("nginx", "found", "nginx"),
        ("Apache 2.4", "found_as", "apache2"),
        ("MySQL", "found_as", "mariadb-server"),
        ("PHP 8.2", "found_as", "php8.2-fpm"),
        ("Redis", "found_as", "redis-server"),
        ("MongoDB", "not_found", ""),
    ]


def test_declared_version_that_does_not_match_is_noted():
    (check,) = crosscheck(["Redis 6.2"], PACKAGES)
    assert check.result == "found_as" and "declared version 6.2" in check.note
    (check,) = crosscheck(["Redis 7.0"], PACKAGES)
    assert check.note == ""


def test_without_a_finished_scan_the_result_is_unknown():
    assert [c.result for c in crosscheck(["nginx"], None)] == ["unknown"]


def test_review_page_shows_the_cross_check(api, web, olivia, alice):
    from shelf.scanning.models import Scan
    from tests.products.conftest import make_image
    from tests.reviews.conftest import submitted_product

    image = make_image(alice.organizations.get())
    Scan.objects.filter(image=image).update(packages=PACKAGES)
    submitted_product(api(alice), image)
    from shelf.products.models import Revision

    revision = Revision.objects.get(status="in_review")
    page = web(olivia).get(f"/operator/reviews/{revision.pk}/").content.decode()
    assert 'data-result="found_as"' in page and "apache2" in page  # "Apache 2.4" in complete_fields
    assert 'data-result="not_found"' not in page  # MySQL 8.0 is provided by mariadb-server, PHP 8.2 by php8.2-fpm
