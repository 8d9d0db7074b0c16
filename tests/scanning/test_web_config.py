"""The web family reads nginx's configuration as nginx does: by tokens and blocks, with includes resolved.

A directive on one line with others, split over lines, or in an included file (conf.d, a nested include, a file
outside /etc/nginx) is found at the line it starts on; one in a comment, in a quoted string or in a file nginx
does not load is not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.builders import link, write
from tests.scanning.conftest import only

MAIN = """user {user};
worker_processes auto;
include /etc/nginx/modules-enabled/*.conf;
events {{ worker_connections 768; }}
http {{
    include mime.types;
    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}}
"""


def nginx(tree: Path, *, user: str = "www-data", main: str | None = None) -> None:
    write(tree, "etc/nginx/nginx.conf", main if main is not None else MAIN.format(user=user))
    write(tree, "etc/nginx/mime.types", "types {\n    text/html html;\n}\n")
    write(tree, "etc/nginx/modules-enabled/50-mod-stream.conf", "load_module modules/ngx_stream_module.so;\n")


def listing_everywhere(tree: Path) -> None:
    nginx(tree)
    # One line holding a server, a location, a root and the listing.
    write(
        tree,
        "etc/nginx/sites-available/oneline",
        "server { listen 80; location / { root /srv/shop; autoindex on; } }\n",
    )
    link(tree, "etc/nginx/sites-enabled/oneline", "/etc/nginx/sites-available/oneline")
    # The directive split over lines: it starts on line 4.
    write(
        tree,
        "etc/nginx/conf.d/split.conf",
        "server {\n    listen 8080;\n    location /pub/ {\n        autoindex\n            on;\n    }\n}\n",
    )
    # conf.d includes an application's file outside /etc/nginx, which includes a snippet (nested include).
    write(tree, "etc/nginx/conf.d/app.conf", "server {\n    listen 8081;\n    include /opt/app/nginx/*.conf;\n}\n")
    write(tree, "opt/app/nginx/site.conf", "location /downloads/ {\n    include /opt/app/nginx/listing.snippet;\n}\n")
    write(tree, "opt/app/nginx/listing.snippet", "\n\nautoindex ON;\n")
    write(tree, "srv/shop/index.html", "<h1>shop</h1>\n")
    write(tree, "srv/shop/.git/HEAD", "ref: refs/heads/main\n")  # a web root only through the one-line `root`


def listing_nowhere(tree: Path) -> None:
    nginx(tree)
    site = (
        "server {\n"
        "    listen 80;\n"
        "    root /var/www/html;\n"
        "    # autoindex on;\n"
        "    location /a/ { autoindex off; } # autoindex on;\n"
        "    #autoindex on;\n"
        '    location /b/ { return 200 "\n'
        "autoindex on;\n"
        'user root;\n";\n'
        "    }\n"
        "    add_header X-Note 'autoindex on;';\n"
        "}\n"
    )
    write(tree, "etc/nginx/sites-available/default", site)
    link(tree, "etc/nginx/sites-enabled/default", "/etc/nginx/sites-available/default")
    # Files nginx does not load: not enabled, not included from nginx.conf.
    write(tree, "etc/nginx/sites-available/unused", "server { autoindex on; }\n")
    write(tree, "etc/nginx/old/site.conf", "server {\n    autoindex on;\n}\n")
    write(tree, "etc/nginx/conf.d/site.conf.dpkg-old", "server {\n    autoindex on;\n}\n")
    write(tree, "srv/unserved/.git/HEAD", "ref: refs/heads/main\n")
    write(tree, "etc/nginx/conf.d/map.conf", "map $uri $listing {\n    autoindex on;\n    default off;\n}\n")  # a table


def test_nginx_listing_found_however_it_is_written(image_factory):
    result = image_factory.scan("nginx-listing", listing_everywhere)
    listing = only(result, "web.directory_listing")
    assert {(e.path, e.line) for e in listing.evidence} == {
        ("/etc/nginx/sites-enabled/oneline", 1),
        ("/etc/nginx/conf.d/split.conf", 4),
        ("/opt/app/nginx/listing.snippet", 3),
    }
    texts = {e.path: e.text for e in listing.evidence}
    assert texts["/etc/nginx/conf.d/split.conf"].startswith("autoindex on;")
    assert "location /downloads/" in texts["/opt/app/nginx/listing.snippet"]
    vcs = only(result, "web.vcs_exposed")
    assert vcs.evidence[0].path == "/srv/shop/.git"


def test_nginx_listing_in_comments_strings_and_unloaded_files_is_not_found(image_factory):
    result = image_factory.scan("nginx-no-listing", listing_nowhere)
    assert not [(f.check_id, f.evidence) for f in result.findings if f.family == "web"]


@pytest.mark.parametrize(
    ("name", "main", "extra", "where"),
    [
        ("oneline", "worker_processes auto; user root;\nevents { }\n", {}, ("/etc/nginx/nginx.conf", 1)),
        ("split", "worker_processes auto;\nuser\n    root\n    root;\nevents { }\n", {}, ("/etc/nginx/nginx.conf", 2)),
        (
            "included",
            "include /etc/nginx/main.d/*.conf;\nevents { }\n",
            {"etc/nginx/main.d/user.conf": "# run as\n\nuser root;\n"},
            ("/etc/nginx/main.d/user.conf", 3),
        ),
    ],
)
def test_nginx_root_user_found_however_it_is_written(image_factory, name, main, extra, where):
    def plant(tree: Path) -> None:
        nginx(tree, main=main)
        for path, text in extra.items():
            write(tree, path, text)

    result = image_factory.scan(f"nginx-user-{name}", plant)
    root = only(result, "web.root_user")
    assert [(e.path, e.line) for e in root.evidence] == [where]
    assert root.data["servers"] == ["nginx"]


def test_nginx_root_user_commented_or_quoted_is_not_found(image_factory):
    main = (
        "# user root;\n"
        "user www-data; # user root;\n"
        "events { }\n"
        'http {\n    add_header X-User "user root;";\n    log_format main "\n'
        'user root;\n";\n}\n'
    )
    result = image_factory.scan("nginx-user-fine", lambda tree: nginx(tree, main=main))
    assert not [f for f in result.findings if f.check_id == "web.root_user"]


# ---- Apache ----------------------------------------------------------------------------------------------

APACHE_MAIN = """ServerRoot "/etc/apache2"
user root
Group www-data
IncludeOptional mods-enabled/*.load
<Directory /var/www/>
	Options FollowSymLinks
</Directory>
# An old listing, turned off by commenting it out over two lines: \\
Options Indexes
IncludeOptional conf-enabled/*.conf
IncludeOptional sites-enabled/*.conf
"""
APACHE_SITE = """<VirtualHost *:80>
	DocumentRoot /srv/site
	<Directory /srv/site>
		Options FollowSymLinks \\
			Indexes
		AllowOverride FileInfo Options=Indexes,MultiViews
	</Directory>
	Include /opt/app/apache/app.conf
	PHP_Admin_Flag display_errors \\
		On
</VirtualHost>
"""


def apache_everywhere(tree: Path) -> None:
    write(tree, "etc/apache2/apache2.conf", APACHE_MAIN)
    write(tree, "etc/apache2/sites-available/site.conf", APACHE_SITE)
    link(tree, "etc/apache2/sites-enabled/site.conf", "../sites-available/site.conf")
    write(
        tree,
        "opt/app/apache/app.conf",
        "Alias /files /opt/app/files\n<Directory /opt/app/files>\n\tOPTIONS +Indexes\n</Directory>\n",
    )
    write(tree, "srv/site/index.html", "<h1>site</h1>\n")
    write(tree, "srv/site/uploads/.htaccess", "Options -ExecCGI \\\n\t+Indexes\n")


def apache_fine(tree: Path) -> None:
    main = APACHE_MAIN.replace("user root", "User www-data")
    write(tree, "etc/apache2/apache2.conf", main)
    # Listing on in apache2.conf's /var/www section, turned off by a file conf-enabled includes.
    write(tree, "etc/apache2/conf-available/listing.conf", "<Directory /var/www>\n\tOptions Indexes\n</Directory>\n")
    write(tree, "etc/apache2/conf-available/security.conf", "Include /etc/apache2/local/*.conf\n")
    write(tree, "etc/apache2/local/nolisting.conf", "<Directory /var/www/>\n\tOptions -Indexes\n</Directory>\n")
    link(tree, "etc/apache2/conf-enabled/listing.conf", "../conf-available/listing.conf")
    link(tree, "etc/apache2/conf-enabled/security.conf", "../conf-available/security.conf")
    write(
        tree,
        "etc/apache2/sites-available/unused.conf",
        "<Directory /srv>\n\tOptions Indexes\n</Directory>\nUser root\n",
    )
    write(tree, "var/www/html/.htaccess", "# Options \\\n\tIndexes\nOptions -Indexes\n")
    write(
        tree,
        "etc/apache2/conf-available/php.conf",
        "# php_admin_flag display_errors on\nphp_admin_flag display_errors off\n",
    )
    link(tree, "etc/apache2/conf-enabled/php.conf", "../conf-available/php.conf")


def test_apache_read_as_httpd_reads_it(image_factory):
    result = image_factory.scan("apache-config", apache_everywhere)
    listing = only(result, "web.directory_listing")
    assert {(e.path, e.line) for e in listing.evidence} == {
        ("/etc/apache2/sites-enabled/site.conf", 4),
        ("/opt/app/apache/app.conf", 3),
        ("/srv/site/uploads/.htaccess", 1),
    }
    assert "Indexes" in {e.path: e.text for e in listing.evidence}["/etc/apache2/sites-enabled/site.conf"]
    root = only(result, "web.root_user")
    assert [(e.path, e.line) for e in root.evidence] == [("/etc/apache2/apache2.conf", 2)]
    debug = only(result, "web.debug")
    assert [(e.path, e.line) for e in debug.evidence] == [("/etc/apache2/sites-enabled/site.conf", 9)]


def test_apache_comments_continued_and_unloaded_files_are_not_judged(image_factory):
    result = image_factory.scan("apache-config-fine", apache_fine)
    assert not [(f.check_id, f.evidence) for f in result.findings if f.family == "web"]


def test_nginx_include_loop_is_bounded_and_said(image_factory):
    def plant(tree: Path) -> None:
        nginx(tree, main="events { }\nhttp {\n    include /etc/nginx/loop.conf;\n}\n")
        write(tree, "etc/nginx/loop.conf", "server {\n    autoindex on;\n}\ninclude loop.conf;\n")

    result = image_factory.scan("nginx-include-loop", plant)
    listing = only(result, "web.directory_listing")
    assert [(e.path, e.line) for e in listing.evidence] == [("/etc/nginx/loop.conf", 2)]
    assert any("nginx includes nested deeper" in reason for reason in result.incomplete)


def test_nginx_fragments_without_a_main_file_are_still_judged(image_factory):
    def plant(tree: Path) -> None:
        write(tree, "etc/nginx/conf.d/site.conf", "server { listen 80; autoindex on; }\n")

    listing = only(image_factory.scan("nginx-fragment", plant), "web.directory_listing")
    assert [(e.path, e.line) for e in listing.evidence] == [("/etc/nginx/conf.d/site.conf", 1)]


def _cfg(text: str):
    from shelf.scanning.engine import apache

    return apache.ApacheConfig(apache.parse_text(text, "/etc/apache2/apache2.conf"), [])


def test_htaccess_is_judged_only_where_allowoverride_lets_httpd_read_it():
    from shelf.scanning.engine.apache import reads_htaccess_options

    debian = (
        "<Directory />\n\tAllowOverride None\n</Directory>\n<Directory /var/www/>\n\tAllowOverride None\n</Directory>\n"
    )
    assert not reads_htaccess_options(_cfg(debian), "/var/www/html/.htaccess")
    assert not reads_htaccess_options(_cfg(""), "/var/www/html/.htaccess")  # httpd's default is None
    opened = debian + "<Directory /var/www/html>\n\tallowoverride all\n</Directory>\n"
    assert reads_htaccess_options(_cfg(opened), "/var/www/html/blog/.htaccess")
    assert not reads_htaccess_options(_cfg(opened), "/var/www/other/.htaccess")
    # A later, shorter section does not override a longer one; a later one of the same path does.
    assert reads_htaccess_options(
        _cfg(opened + "<Directory /var/www>\n\tAllowOverride None\n</Directory>\n"), "/var/www/html/.htaccess"
    )
    assert not reads_htaccess_options(
        _cfg(opened + "<Directory /var/www/html/>\n\tAllowOverride None\n</Directory>\n"), "/var/www/html/.htaccess"
    )
    # Only the override classes that allow Options Indexes count; wildcards match one component.
    for args, allowed in [("AuthConfig FileInfo Indexes", False), ("Options", True), ("Options=FollowSymLinks", False),
                          ("Options=MultiViews,Indexes", True), ("FileInfo OPTIONS", True)]:  # fmt: skip
        cfg = _cfg(
            f"<VirtualHost *:80>\n<Directory /srv/*/public>\nAllowOverride {args}\n</Directory>\n</VirtualHost>\n"
        )
        assert reads_htaccess_options(cfg, "/srv/shop/public/.htaccess") is allowed, args
    assert not reads_htaccess_options(
        _cfg("<DirectoryMatch ^/srv>\nAllowOverride All\n</DirectoryMatch>\n"), "/srv/.htaccess"
    )
