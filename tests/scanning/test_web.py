"""Family `web`: directory listing, VCS directories in web roots, web services as root, debug modes."""

from __future__ import annotations

from pathlib import Path

from shelf.scanning.engine.checks.web import _indexes_after
from tests.images.builders import link, write
from tests.scanning.conftest import ids

NGINX_CONF = """user {user};
worker_processes auto;
events {{ worker_connections 768; }}
http {{
    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}}
"""
SITE = """server {{
    listen 80 default_server;
    root /var/www/html;
    index index.php index.html;
    location /files/ {{
        autoindex {autoindex};
    }}
}}
"""
APACHE_CONF = """# Debian's default apache2.conf (abridged)
User ${APACHE_RUN_USER}
Group ${APACHE_RUN_GROUP}
<Directory />
	Options FollowSymLinks
	AllowOverride None
	Require all denied
</Directory>
<Directory /var/www/>
	Options Indexes FollowSymLinks
	AllowOverride None
	Require all granted
</Directory>
IncludeOptional conf-enabled/*.conf
IncludeOptional sites-enabled/*.conf
"""
ENVVARS = "unset HOME\nexport APACHE_RUN_USER={user}\nexport APACHE_RUN_GROUP=www-data\n"
POOL = "[www]\nuser = {user}\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\npm = dynamic\n"


def web_server(tree: Path, *, bad: bool) -> None:
    user = "root" if bad else "www-data"
    write(tree, "etc/nginx/nginx.conf", NGINX_CONF.format(user=user))
    write(tree, "etc/nginx/sites-available/default", SITE.format(autoindex="on" if bad else "off"))
    link(tree, "etc/nginx/sites-enabled/default", "/etc/nginx/sites-available/default")
    write(tree, "etc/nginx/sites-available/unused", SITE.format(autoindex="on"))  # not enabled: not judged
    write(tree, "etc/apache2/apache2.conf", APACHE_CONF)
    write(tree, "etc/apache2/envvars", ENVVARS.format(user=user))
    if not bad:  # Debian's security.conf way of turning the default listing off
        write(
            tree, "etc/apache2/conf-available/security.conf", "<Directory /var/www>\n\tOptions -Indexes\n</Directory>\n"
        )
        link(tree, "etc/apache2/conf-enabled/security.conf", "../conf-available/security.conf")
    write(tree, "etc/php/8.2/fpm/pool.d/www.conf", POOL.format(user=user))
    write(tree, "etc/php/8.2/fpm/php.ini", f"[PHP]\ndisplay_errors = {'On' if bad else 'Off'}\nlog_errors = On\n")
    write(tree, "etc/php/8.2/cli/php.ini", "[PHP]\ndisplay_errors = On\n")  # the command line is no web service
    write(tree, "var/www/html/index.php", "<?php echo 'hello';\n")
    write(tree, "var/www/html/uploads/.htaccess", f"Options {'+Indexes' if bad else '-Indexes'}\n")
    # Debian's AllowOverride None covers /var/www; a site opens its uploads directory to .htaccess files.
    write(
        tree,
        "etc/apache2/conf-available/uploads.conf",
        "<Directory /var/www/html/uploads>\n\tAllowOverride Options\n</Directory>\n",
    )
    link(tree, "etc/apache2/conf-enabled/uploads.conf", "../conf-available/uploads.conf")
    write(tree, "var/www/shop/.htaccess", "Options +Indexes\n")  # AllowOverride None here: httpd never reads it
    write(tree, "srv/repo/.git/HEAD", "ref: refs/heads/main\n")  # not a web root: fine
    write(tree, "var/www/html/app/settings.py", f"import os\nDEBUG = {bad}\nALLOWED_HOSTS = ['*']\n")
    write(tree, "opt/api/settings/production.py", "DEBUG = os.environ.get('DEBUG') == '1'\n")
    write(tree, "var/www/shop/.env", f"APP_ENV=production\nAPP_DEBUG={'true' if bad else 'false'}\n")
    write(tree, "var/www/blog/wp-config.php", f"<?php\ndefine( 'WP_DEBUG', {'true' if bad else 'false'} );\n")
    write(tree, "opt/flaskapp/.flaskenv", f"FLASK_APP=app\nFLASK_ENV={'development' if bad else 'production'}\n")
    if bad:
        write(tree, "var/www/html/.git/HEAD", "ref: refs/heads/main\n")
        write(tree, "var/www/html/.git/config", "[core]\n\tbare = false\n")
        write(tree, "var/www/blog/.svn/wc.db", b"SQLite format 3\x00")


def only(result, check_id):
    (finding,) = [f for f in result.findings if f.check_id == check_id]
    return finding


def test_bad_web_environment(image_factory):
    result = image_factory.scan("web-bad", lambda tree: web_server(tree, bad=True))
    listing = only(result, "web.directory_listing")
    assert {(e.path, e.line) for e in listing.evidence} == {
        ("/etc/nginx/sites-enabled/default", 6),
        ("/etc/apache2/apache2.conf", 10),
        ("/var/www/html/uploads/.htaccess", 1),
    }
    assert listing.severity == "medium" and "autoindex" in listing.fix
    vcs = {f.evidence[0].path: f for f in result.findings if f.check_id == "web.vcs_exposed"}
    assert set(vcs) == {"/var/www/html/.git", "/var/www/blog/.svn"} and vcs["/var/www/html/.git"].severity == "high"
    root = only(result, "web.root_user")
    assert {(e.path, e.line) for e in root.evidence} == {
        ("/etc/nginx/nginx.conf", 1),
        ("/etc/apache2/apache2.conf", 2),
        ("/etc/apache2/envvars", 2),
        ("/etc/php/8.2/fpm/pool.d/www.conf", 2),
    }
    assert root.data["servers"] == ["nginx", "apache", "php-fpm"]
    debug = only(result, "web.debug")
    assert {(e.path, e.line) for e in debug.evidence} == {
        ("/etc/php/8.2/fpm/php.ini", 2),
        ("/var/www/html/app/settings.py", 2),
        ("/var/www/shop/.env", 2),
        ("/var/www/blog/wp-config.php", 2),
        ("/opt/flaskapp/.flaskenv", 2),
    }
    assert set(debug.data["kinds"]) == {
        "PHP display_errors", "Django DEBUG", "Laravel APP_DEBUG", "WordPress WP_DEBUG", "Flask development mode"
    }  # fmt: skip
    from shelf.scanning.policy import Policy, is_blocking

    assert all(
        is_blocking({"check_id": f.check_id, "family": "web"}, Policy()) for f in result.findings if f.family == "web"
    )


def test_similar_but_fine_web_environment(image_factory):
    result = image_factory.scan("web-fine", lambda tree: web_server(tree, bad=False))
    assert not [(f.check_id, f.evidence) for f in result.findings if f.family == "web"]


def test_benign_image_has_no_web_findings(benign):
    assert not [i for i in ids(benign) if i.startswith("web.")]


def test_apache_options_merge():
    assert _indexes_after(False, ["Indexes", "FollowSymLinks"])
    assert not _indexes_after(True, ["FollowSymLinks"])
    assert _indexes_after(False, ["All"]) and not _indexes_after(True, ["None"])
    assert _indexes_after(False, ["+Indexes"]) and not _indexes_after(True, ["-Indexes", "+FollowSymLinks"])
