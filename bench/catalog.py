"""The storefront catalog benchmark (issue 13): 100,000 listed products, the real server, wrk.

The database (SQLite in a throwaway data directory, or PostgreSQL when DATABASE_URL is set) is migrated and
seeded with bulk inserts of realistic rows: a few hundred provider organisations, the real regions and category
tree from the catalog reference data, one available image per region (with a passed scan) that every delivery
uses, and per product a listed revision with mixed Chinese and English name, summary, tags, integrated software
and details, 1-3 pictures, a document and 1-4 deliveries. Words follow a Zipf-like spread, so common ones (建站,
镜像, WordPress, MySQL) are in thousands of products and rare ones in a few. Going through the services (upload,
scan, review) 100,000 times would take hours; the rows are the ones those services write.

The seeded database is cached (in SHELF_BENCH_CACHE, default /var/cache/shelf-bench) under a hash of this file
and of every migration; each run copies it, rebuilds the search index with the real `catalog_reindex` command
(timed), starts `manage.py serve` with several workers and measures each page with wrk next to the same
server's trivial endpoint.

Environment: SHELF_BENCH_PRODUCTS (default 100000), SHELF_BENCH_WORKERS (4), SHELF_BENCH_SECONDS (10 per URL),
SHELF_BENCH_CONNECTIONS (16), SHELF_BENCH_THREADS (wrk threads, 2), DATABASE_URL (PostgreSQL server to use).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from itertools import accumulate
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
PRODUCTS = int(os.environ.get("SHELF_BENCH_PRODUCTS", "100000"))
CACHE_ROOT = Path(os.environ.get("SHELF_BENCH_CACHE", "/var/cache/shelf-bench"))  # same home as debian_image
WORKERS = int(os.environ.get("SHELF_BENCH_WORKERS", "4"))
SECONDS = int(os.environ.get("SHELF_BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("SHELF_BENCH_CONNECTIONS", "16"))
WRK_THREADS = int(os.environ.get("SHELF_BENCH_THREADS", "2"))
PROVIDERS = 300
BATCH = 2000
GOAL_RATIO, GOAL_P99_MS = 0.5, 50.0

# --------------------------------------------------------------------------- vocabulary
# Ordered from common to rare: `_zipf` picks the k-th entry with weight 1 / k**s.

ZH_WORDS = [
    "建站",
    "镜像",
    "一键部署",
    "数据库",
    "运维",
    "安全",
    "环境",
    "面板",
    "宝塔",
    "高性能",
    "企业版",
    "网站",
    "负载均衡",
    "容器",
    "监控",
    "电商",
    "商城",
    "博客",
    "稳定",
    "中文版",
    "开发",
    "缓存",
    "备份",
    "论坛",
    "防火墙",
    "集群",
    "官方",
    "加速",
    "小程序",
    "日志",
    "大数据",
    "证书",
    "防护",
    "运行环境",
    "告警",
    "高可用",
    "人工智能",
    "知识库",
    "在线教育",
    "直播",
    "视频",
    "邮件",
    "文件存储",
    "网盘",
    "办公",
    "协同",
    "游戏服务器",
    "跨境电商",
    "会员系统",
    "支付",
    "内容管理",
    "代码托管",
    "持续集成",
    "自动化",
    "漏洞扫描",
    "等保",
    "国产化",
    "信创",
    "鲲鹏",
    "麒麟",
    "统信",
    "龙芯",
]
EN_WORDS = [
    "one-click",
    "secure",
    "fast",
    "optimized",
    "production-ready",
    "high availability",
    "backup",
    "monitoring",
    "cluster",
    "cache",
    "SSL",
    "HTTPS",
    "load balancing",
    "firewall",
    "multisite",
    "headless",
    "API",
    "GPU",
    "analytics",
    "migration",
    "replication",
    "sharding",
    "observability",
    "zero-downtime",
]
OSES = [
    "Ubuntu 22.04",
    "Debian 12",
    "CentOS 7.9",
    "Rocky Linux 9",
    "AlmaLinux 9",
    "Alibaba Cloud Linux 3",
    "openEuler 22.03",
    "Ubuntu 24.04",
    "Debian 11",
    "Windows Server 2022",
    "Windows Server 2019",
    "Kylin V10",
]
# leaf slug -> (weight, the main software sold there, the software bundled with it)
CATEGORY_SOFTWARE = {
    "website-cms": (
        30,
        ["WordPress", "DedeCMS", "Drupal", "PbootCMS", "Joomla", "帝国CMS", "Ghost"],
        ["PHP", "MySQL", "nginx", "Apache", "Redis"],
    ),
    "devtools-runtime": (
        20,
        ["LAMP", "LNMP", "Docker", "Node.js", "Python", "Java", "PHP", "Go", "Tomcat", ".NET"],
        ["nginx", "MySQL", "Redis", "Git", "Supervisor"],
    ),
    "ops-panel": (
        16,
        ["宝塔面板", "1Panel", "aaPanel", "Webmin", "cPanel"],
        ["nginx", "MySQL", "PHP", "Docker", "Pure-FTPd"],
    ),
    "os-linux": (
        14,
        ["Ubuntu", "Debian", "CentOS", "Rocky Linux", "AlmaLinux", "openEuler"],
        ["OpenSSH", "Docker", "Python", "Git"],
    ),
    "database-relational": (
        12,
        ["MySQL", "PostgreSQL", "MariaDB", "SQL Server", "TiDB"],
        ["phpMyAdmin", "pgAdmin", "Redis", "Percona Toolkit"],
    ),
    "website-ecommerce": (
        10,
        ["WooCommerce", "Magento", "ShopXO", "CRMEB", "OpenCart", "PrestaShop"],
        ["WordPress", "PHP", "MySQL", "Redis", "Elasticsearch"],
    ),
    "database-nosql": (
        8,
        ["Redis", "MongoDB", "Elasticsearch", "ClickHouse", "Cassandra"],
        ["Kibana", "Docker", "Grafana"],
    ),
    "website-blog": (
        8,
        ["WordPress", "Discuz", "Typecho", "Halo", "Ghost", "Flarum"],
        ["PHP", "MySQL", "nginx", "Node.js"],
    ),
    "devtools-cicd": (
        6,
        ["Jenkins", "GitLab", "Gitea", "Kubernetes", "Harbor", "Drone"],
        ["Docker", "Java", "PostgreSQL", "Redis", "Helm"],
    ),
    "ops-monitoring": (
        6,
        ["Zabbix", "Prometheus", "Grafana", "Nagios", "夜莺"],
        ["MySQL", "Alertmanager", "Docker", "nginx"],
    ),
    "os-windows": (
        5,
        ["Windows Server", "SQL Server", "IIS", ".NET Framework"],
        ["IIS", ".NET", "PowerShell", "Remote Desktop"],
    ),
    "security-waf": (
        4,
        ["雷池 SafeLine", "ModSecurity", "OpenResty", "nginx"],
        ["OpenResty", "Lua", "Docker", "fail2ban"],
    ),
    "security-vpn": (3, ["OpenVPN", "WireGuard", "SoftEther", "strongSwan"], ["iptables", "Docker", "OpenSSL"]),
}
CITIES = ["杭州", "深圳", "北京", "上海", "广州", "成都", "南京", "武汉", "西安", "苏州", "厦门", "长沙"]
FIRMS = ["云帆", "星辰", "数安", "极客", "蓝鲸", "启明", "天工", "青云", "飞象", "易维", "织网", "磐石", "灵犀"]
TRADES = ["科技", "网络", "信息技术", "软件", "数据"]
EN_FIRMS = ["Acme", "Nimbus", "Bluefin", "Cobalt", "Stackly", "Northwind", "Orbit", "Pixel", "Quanta", "Lumen"]
EN_TRADES = ["Cloud", "Software", "Systems", "Labs", "Networks", "Tech"]
BENEFITS = ["开箱即用", "五分钟上线", "性能调优", "安全加固", "7×24 小时技术支持", "自动备份", "免费升级一年"]
EDITIONS = ["", "", "", " 企业版", " 旗舰版", " 标准版", " 专业版", " Pro", " LTS"]
REGION_WEIGHTS = {"ap-guangzhou": 0.8, "ap-shanghai": 0.6, "ap-beijing": 0.5, "ap-chengdu": 0.25,
                  "ap-hongkong": 0.2, "na-siliconvalley": 0.1}  # fmt: skip


def _zipf(rng: random.Random, words: list, s: float = 1.1):
    """The k-th word with weight 1 / k**s."""
    key = (len(words), s)
    cumulative = _ZIPF_CUMULATIVE.get(key)
    if cumulative is None:
        cumulative = _ZIPF_CUMULATIVE[key] = list(accumulate(1 / (k + 1) ** s for k in range(len(words))))
    return words[bisect(cumulative, rng.random() * cumulative[-1])]


_ZIPF_CUMULATIVE: dict = {}


def _distinct(rng: random.Random, words: list, n: int) -> list[str]:
    """n different words (at most as many as there are), drawn Zipf-like."""
    picked: list[str] = []
    seen: set[str] = set()
    n = min(n, len({w.casefold() for w in words}))
    while len(picked) < n:
        word = _zipf(rng, words)
        if word.casefold() not in seen:
            seen.add(word.casefold())
            picked.append(word)
    return picked


def provider_names(rng: random.Random) -> list[str]:
    names: list[str] = []
    while len(names) < PROVIDERS:
        if rng.random() < 0.7:
            name = f"{rng.choice(CITIES)}{rng.choice(FIRMS)}{rng.choice(TRADES)}有限公司"
        else:
            name = f"{rng.choice(EN_FIRMS)} {rng.choice(EN_TRADES)} {rng.choice(['Ltd.', 'Inc.', 'Co.'])}"
        if name in names:
            name = f"{name[:-1]}（{len(names)}）" if name.endswith("司") else f"{name} {len(names)}"
        names.append(name)
    return names


def product_text(rng: random.Random, leaf: str, provider: str) -> dict:
    """Name, summary, tags, software, version and details of one product filed under `leaf`."""
    _weight, mains, bundled = CATEGORY_SOFTWARE[leaf]
    main = _zipf(rng, mains, 0.9)
    os_name = _zipf(rng, OSES, 0.8)
    extras = [s for s in _distinct(rng, bundled, rng.randint(1, 3)) if s != main]
    zh = _distinct(rng, ZH_WORDS, 4)
    en = _distinct(rng, EN_WORDS, 2)
    major = rng.randint(1, 12)
    version = f"v{major}.{rng.randint(0, 9)}" + (f".{rng.randint(0, 20)}" if rng.random() < 0.5 else "")
    style = rng.random()
    if style < 0.45:
        name = f"{main} {zh[0]}{zh[1]}（{os_name}）{rng.choice(EDITIONS)}"
    elif style < 0.75:
        name = f"{main} {major}.{rng.randint(0, 9)} {zh[0]}{rng.choice(EDITIONS)}"
    else:
        name = f"{main} {en[0]} {zh[0]} image on {os_name}"
    summary = (
        f"基于 {os_name} 的 {main} {zh[0]}{zh[2]}，预装 {'、'.join(extras) or main}，{rng.choice(BENEFITS)}。"
        f" {en[0].capitalize()} {main} with {', '.join(extras) or 'sane defaults'}, {en[-1]}."
    )[:140]
    tags = _distinct(rng, [*ZH_WORDS[:30], "WordPress", "LAMP", "nginx", "MySQL", "Docker", "Kubernetes", "PHP",
                           "Redis", "Linux", "Python", "Java", "SSL"], rng.randint(1, 5))  # fmt: skip
    software = [main, *extras][:5]
    features = _distinct(rng, EN_WORDS, 3)
    while len(features) < 3:
        features.append("secure")
    slots = [provider, main, version, zh[0], os_name, zh[1], zh[3], rng.choice(BENEFITS), rng.choice(BENEFITS),
             _zipf(rng, ZH_WORDS), _zipf(rng, ZH_WORDS), *(f.capitalize() for f in features),
             main, os_name, extras[0] if extras else "nginx", _zipf(rng, ZH_WORDS)]  # fmt: skip
    return {"name": name[:80], "summary": summary, "tags": tags, "software": software, "version": version,
            "details": DETAILS.format(*slots), "slots": slots}  # fmt: skip


# The details' Markdown: the same structure for every product, its words in the slots.
DETAILS = (
    "## 产品简介\n\n{0} 提供的 {1} {2} {3}镜像，运行于 {4}，{5}、{6}开箱即用。镜像内已完成{7}与{8}，适合{9}与{10}场景。"
    "\n\n## Features\n\n- {11} {14}\n- {12} {15}\n- {13} {16}\n"
    "\n## 使用说明\n\n1. 购买后在控制台选择 **{1}** 镜像创建云服务器。\n"
    "2. 浏览器访问 `http://<服务器IP>/` 完成初始化；默认{17}配置见文档。\n"
    "3. Support: {0}, 工作日 9:00-18:00。\n"
)
_SLOT = "qzslot{}qz"


class DetailsRenderer:
    """render_details of a DETAILS text, fast: the template is rendered once with placeholder words, and each
    product's words (plain text, no Markdown) go into the HTML escaped. Every 100th product is rendered for
    real and compared; on any difference the real renderer is used from then on."""

    def __init__(self):
        from shelf.products.details import render_details

        self.render = render_details
        self.template = render_details(DETAILS.format(*(_SLOT.format(i) for i in range(18))))
        self.calls = self.mismatches = 0

    def __call__(self, text: dict) -> str:
        self.calls += 1
        if self.mismatches:
            return self.render(text["details"])
        html = re.sub(r"qzslot(\d+)qz", lambda m: escape(text["slots"][int(m.group(1))], quote=False), self.template)
        if self.calls % 100 == 1:
            real = self.render(text["details"])
            if real != html:
                self.mismatches += 1
                return real
        return html


# --------------------------------------------------------------------------- seeding (inside Django)


def seed(count: int) -> dict:
    """Bulk-insert `count` listed products into the migrated database Django is configured for; returns timings."""
    from django.db import connection, transaction

    from shelf.accounts.models import Organization
    from shelf.catalog.models import Agreement, Category, Region
    from shelf.images.models import Image
    from shelf.products.models import Delivery, Document, Picture, Product, Revision
    from shelf.scanning.models import Scan

    started = time.perf_counter()
    rng = random.Random(13)  # noqa: S311 - reproducible test data, not secrets
    # The rows carry their own spread of dates; the services would have set them over the years.
    for model, name in ((Product, "created_at"), (Revision, "created_at"), (Revision, "updated_at")):
        model_field = model._meta.get_field(name)
        model_field.auto_now = model_field.auto_now_add = False
    now = datetime.now(UTC)

    leaves = {c.slug: c for c in Category.objects.filter(parent__isnull=False)}
    missing = set(CATEGORY_SOFTWARE) - set(leaves)
    if missing:
        raise RuntimeError(f"the category tree has no leaf {sorted(missing)}: update bench/catalog.py")
    leaf_slugs = list(CATEGORY_SOFTWARE)
    leaf_weights = [CATEGORY_SOFTWARE[s][0] for s in leaf_slugs]
    regions = {r.code: r for r in Region.objects.all()}
    agreement = Agreement.objects.filter(organization__isnull=True).order_by("pk").first()

    with transaction.atomic():
        names = provider_names(rng)
        orgs = Organization.objects.bulk_create(
            [
                Organization(name=n, slug=f"bench-provider-{i}", contact_email=f"p{i}@example.com")
                for i, n in enumerate(names)
            ]  # fmt: skip
        )
        owner = orgs[0]
        images = {}
        for code, region in regions.items():
            image = Image.objects.create(
                organization=owner, region=region, name=f"bench-{code}", disk_format="qcow2", status="available",
                virtual_size=20 * 1024**3, stored_size=2 * 1024**3, sha256=hashlib.sha256(code.encode()).hexdigest(),
                available_at=now,
            )  # fmt: skip
            images[code] = image
            Scan.objects.create(
                image=image, status="done", verdict="passed", started_at=now, finished_at=now,
                engine_version="bench", vulndb_updated_at=now,
                os={"family": "debian", "distro": "debian", "version": "12", "pretty_name": "Debian GNU/Linux 12",
                    "arch": "x86_64", "eol": False, "eol_date": None},
                packages=[{"name": p, "version": f"{rng.randint(1, 9)}.{rng.randint(0, 30)}", "arch": "amd64",
                           "ecosystem": "Debian:12", "source_name": p, "source_version": "1", "purl": f"pkg:deb/{p}"}
                          for p in ["nginx", "mysql-server", "php8.2", "redis", "openssh-server", "docker-ce",
                                    *(f"lib{i}" for i in range(300))]],
            )  # fmt: skip
        # Big providers and small ones: organisation k has weight 1/k.
        org_weights = list(accumulate(1 / (k + 1) for k in range(len(orgs))))
        region_codes = [c for c in REGION_WEIGHTS if c in regions]
        render = DetailsRenderer()
        counts = {"products": 0, "deliveries": 0, "pictures": 0}
        for start in range(0, count, BATCH):
            products, revisions, text_rows = [], [], []
            for _ in range(min(BATCH, count - start)):
                org = rng.choices(orgs, cum_weights=org_weights)[0]
                leaf = rng.choices(leaf_slugs, weights=leaf_weights)[0]
                created = now - timedelta(seconds=rng.randint(3600, 3 * 365 * 86400))
                decided = created + timedelta(seconds=rng.randint(3600, 30 * 86400))
                text = product_text(rng, leaf, org.name)
                product = Product(
                    id=uuid.UUID(int=rng.getrandbits(128), version=4), organization=org, created_at=created
                )
                if rng.random() < 0.65:
                    monthly = Decimal(round(rng.lognormvariate(4, 1.1), 2)).quantize(Decimal("0.01")) + 1
                    prices = {"billing_mode": "prepaid", "price_monthly": monthly,
                              "price_yearly": (monthly * 10).quantize(Decimal("0.01")) if rng.random() < 0.7 else None}  # fmt: skip
                else:
                    hourly = Decimal(round(rng.lognormvariate(-1, 1), 2)).quantize(Decimal("0.01")) + Decimal("0.01")
                    prices = {"billing_mode": "postpaid", "price_hourly": hourly}
                html = render(text)
                products.append(product)
                revisions.append(
                    Revision(
                        product=product,
                        number=1,
                        status="listed",
                        wizard_step="review",
                        category=leaves[leaf],
                        name=text["name"],
                        tags=text["tags"],
                        software=text["software"],
                        version=text["version"],
                        agreement=agreement,
                        currency="CNY",
                        summary=text["summary"],
                        details=text["details"],
                        details_html=html,
                        submitted_at=decided - timedelta(hours=2),
                        decided_at=decided,
                        created_at=created,
                        updated_at=decided,
                        **prices,
                    )  # fmt: skip
                )
                picked = [c for c in region_codes if rng.random() < REGION_WEIGHTS[c]] or [region_codes[0]]
                text_rows.append((picked, rng.randint(1, 3)))
            Product.objects.bulk_create(products, batch_size=500)
            Revision.objects.bulk_create(revisions, batch_size=500)
            deliveries, pictures, documents = [], [], []
            for revision, (picked, n_pictures) in zip(revisions, text_rows, strict=True):
                deliveries += [Delivery(revision=revision, region=regions[c], image=images[c]) for c in picked]
                pictures += [
                    Picture(revision=revision, position=p, storage_key=f"pictures/bench/{p}.png",
                            content_type="image/png", width=390, height=260, size=48_213, sha256="0" * 64)
                    for p in range(n_pictures)
                ]  # fmt: skip
                documents.append(
                    Document(revision=revision, storage_key="documents/bench.pdf", kind="pdf",
                             content_type="application/pdf", filename="manual.pdf", size=182_044, sha256="1" * 64)
                )  # fmt: skip
            Delivery.objects.bulk_create(deliveries, batch_size=1000)
            Picture.objects.bulk_create(pictures, batch_size=1000)
            Document.objects.bulk_create(documents, batch_size=1000)
            counts["products"] += len(products)
            counts["deliveries"] += len(deliveries)
            counts["pictures"] += len(pictures)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if render.mismatches:
        print(f"details rendered by the real renderer: the fast path differed ({render.mismatches})", file=sys.stderr)
    return {**counts, "providers": len(orgs), "seed_seconds": time.perf_counter() - started}


# --------------------------------------------------------------------------- the cached database


def cache_key() -> str:
    """Of the seeding code, every migration and the product count: any change seeds anew."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(REPO.glob("shelf/*/migrations/*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    digest.update(str(PRODUCTS).encode())
    return digest.hexdigest()[:16]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def django_env(data_dir: Path, database_url: str | None) -> dict:
    env = {**os.environ, "SHELF_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "shelf.settings"}
    env["SHELF_LOG_LEVEL"] = "WARNING"
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _seed_into(env: dict) -> dict:
    manage(env, "migrate", "--noinput", "-v", "0")
    done = subprocess.run(
        [sys.executable, __file__, "seed", str(PRODUCTS)], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _pg(url: str, *statements: str | tuple[str, tuple]) -> list:
    """Run statements (SQL, or (SQL, parameters)) on the server's `postgres` database; the rows they return."""
    import psycopg

    rows = []
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, ())
            cursor = conn.execute(sql, params)
            if cursor.description:
                rows += cursor.fetchall()
    return rows


@contextlib.contextmanager
def seeded_database(run_dir: Path) -> Iterator[tuple[dict, dict]]:
    """(the Django environment of a fresh copy of the seeded database, the seeding figures); dropped afterwards."""
    key = cache_key()
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    pg_url = os.environ.get("DATABASE_URL")
    if pg_url:
        cached, meta_path = f"shelf_bench_{key}", CACHE_ROOT / f"catalog-pg-{key}.json"
        if not (_pg(pg_url, ("SELECT 1 FROM pg_database WHERE datname = %s", (cached,))) and meta_path.exists()):
            building = f"{cached}_building"
            _pg(pg_url, f'DROP DATABASE IF EXISTS "{building}"', f'CREATE DATABASE "{building}"')
            meta = _seed_into(django_env(run_dir, _with_database(pg_url, building)))
            _pg(pg_url, f'DROP DATABASE IF EXISTS "{cached}"', f'ALTER DATABASE "{building}" RENAME TO "{cached}"')
            meta_path.write_text(json.dumps({**meta, "cached": False}))
            meta["cached"] = False
        else:
            meta = {**json.loads(meta_path.read_text()), "cached": True}
        run_db = f"shelf_bench_run_{os.getpid()}"
        _pg(pg_url, f'DROP DATABASE IF EXISTS "{run_db}"', f'CREATE DATABASE "{run_db}" TEMPLATE "{cached}"')
        try:
            yield django_env(run_dir, _with_database(pg_url, run_db)), meta
        finally:
            _pg(pg_url, f'DROP DATABASE IF EXISTS "{run_db}" WITH (FORCE)')
        return
    cached = CACHE_ROOT / f"catalog-sqlite-{key}"
    if not (cached / "shelf.sqlite3").exists():
        for old in CACHE_ROOT.glob("catalog-sqlite-*"):  # one seeded database at a time (~1 GB)
            shutil.rmtree(old, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix="catalog-building-", dir=CACHE_ROOT))
        try:
            meta = _seed_into(django_env(building, None))
            (building / "seed.json").write_text(json.dumps(meta))
            for extra in building.iterdir():  # keep the database and the figures only
                if extra.name not in ("shelf.sqlite3", "seed.json"):
                    shutil.rmtree(extra) if extra.is_dir() else extra.unlink()
            building.rename(cached)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        meta["cached"] = False
    else:
        meta = {**json.loads((cached / "seed.json").read_text()), "cached": True}
    shutil.copyfile(cached / "shelf.sqlite3", run_dir / "shelf.sqlite3")
    yield django_env(run_dir, None), meta


# --------------------------------------------------------------------------- load


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, seconds: int) -> dict:
    """Requests per second, p50 and p99 in ms, and the count of non-2xx/3xx answers and socket errors."""
    done = subprocess.run(
        ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = done.stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.MULTILINE)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(percentiles["50"]),
        "p99": _ms(percentiles["99"]),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "bad": int(bad.group(1)) if bad else 0,
        "errors": errors.group(1).strip() if errors else "",
    }


def ready_answers(base: str, path: str, expect: int) -> httpx.Response:
    response = httpx.get(base + path, timeout=60)
    if response.status_code != expect:
        raise RuntimeError(f"GET {path} answered {response.status_code}, not {expect}: {response.text[:500]}")
    return response


@dataclass
class Target:
    label: str
    path: str
    expect: int = 200
    goal: bool = True  # judged against the goals; the trivial endpoint and reference rows are not


def last_page_path(base: str, path: str) -> tuple[str, int]:
    """Follow the catalog's cursors from `path` to the last page once; (that page's path, pages walked)."""
    pages = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        while True:
            body = client.get(path).raise_for_status().json()
            pages += 1
            cursor = next_cursor(body)
            if not cursor:
                return path, pages
            path = f"/api/v1/catalog?{urlencode({'cursor': cursor})}"


def next_cursor(body: dict) -> str | None:
    return body.get("next_cursor")


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_catalog() -> Iterator[str]:
    from bench.run import Server

    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk, or `make bench`).")
    yield (
        f"{PRODUCTS:,} listed products, {'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'}, "
        f"`manage.py serve` with {WORKERS} workers; wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{SECONDS}s per URL"
    )
    run_dir = Path(tempfile.mkdtemp(prefix="shelf-bench-catalog-"))
    try:
        started = time.perf_counter()
        with seeded_database(run_dir) as (env, meta):
            how = "cached seed" if meta["cached"] else f"seeded now in {time.perf_counter() - started:.1f} s"
            yield (
                f"seed: {meta['products']:,} products, {meta['deliveries']:,} deliveries, {meta['pictures']:,} "
                f"pictures, {meta['providers']} providers; bulk insert {meta['seed_seconds']:.1f} s ({how})"
            )
            reindex_started = time.perf_counter()
            out = manage(env, "catalog_reindex")
            reindex = time.perf_counter() - reindex_started
            yield f"catalog_reindex of {meta['products']:,} products: {reindex:.1f} s ({out.strip()[-200:]})"
            server = Server(data_dir=run_dir, extra_env={**env, "SHELF_WEB_WORKERS": str(WORKERS)})
            try:
                server.start(setup=False)
                yield from _measure(server)
            finally:
                server.stop()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _targets(base: str) -> list[Target]:
    first = ready_answers(base, "/api/v1/catalog", 200).json()
    product_id = first["items"][len(first["items"]) // 2]["id"]
    last, pages = last_page_path(base, "/api/v1/catalog")
    facets = urlencode({"q": "mysql", "category": "database", "billing_mode": "prepaid", "region": "ap-shanghai"})
    targets = [
        Target("trivial: GET /api/v1/me, anonymous (401)", "/api/v1/me", expect=401, goal=False),
        Target("catalog, first page", "/api/v1/catalog"),
        Target("search q=建站 (two Chinese characters)", f"/api/v1/catalog?q={quote('建站')}"),
        Target("search q=wordpress", "/api/v1/catalog?q=wordpress"),
        Target("search q=mysql + category, billing, region", f"/api/v1/catalog?{facets}"),
        Target(f"catalog, last page (page {pages})", last),
        Target("product: GET /api/v1/catalog/{id}", f"/api/v1/catalog/{product_id}"),
    ]
    if httpx.get(f"{base}/products/{product_id}/", timeout=60).status_code == 200:
        targets.append(Target("product page: /products/{id}/ (HTML)", f"/products/{product_id}/"))
    return targets


def _measure(server) -> Iterator[str]:
    base = server.url
    targets = _targets(base)
    for target in targets:
        response = ready_answers(base, target.path, target.expect)
        if target.path.startswith("/api/v1/catalog?") or target.path == "/api/v1/catalog":
            body = response.json()
            yield f"  {target.label}: {len(body['items'])} items, count {body.get('count')!r}, {len(response.content):,} bytes"
    yield f"load average before the run: {_loadavg()} (the 2 cores are shared)"
    rows = []
    for target in targets:
        wrk(base + target.path, 2)  # warm every worker's connection and caches
        result = wrk(base + target.path, SECONDS)
        expected_bad = result["requests"] if target.expect != 200 else 0
        if result["bad"] != expected_bad or result["errors"]:
            raise RuntimeError(f"{target.path}: {result['bad']} unexpected answers, socket errors {result['errors']}")
        rows.append((target, result))
    trivial = rows[0][1]["rps"]
    yield f"load average after the run: {_loadavg()}"
    yield f"{'endpoint':<48} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}  goals (ratio >= {GOAL_RATIO}, p99 < {GOAL_P99_MS:.0f} ms)"
    missed = 0
    for target, result in rows:
        ratio = result["rps"] / trivial
        verdict = ""
        if target.goal:
            problems = []
            if ratio < GOAL_RATIO:
                problems.append(f"ratio {ratio:.2f} < {GOAL_RATIO}")
            if result["p99"] >= GOAL_P99_MS:
                problems.append(f"p99 {result['p99']:.1f} ms >= {GOAL_P99_MS:.0f}")
            verdict = "met" if not problems else "MISSED: " + "; ".join(problems)
            missed += bool(problems)
        yield (
            f"{target.label:<48} {result['rps']:8.1f} {result['p50']:8.2f} {result['p99']:8.2f} {ratio:6.2f}  {verdict}"
        )
    yield f"goals met by {len(rows) - 1 - missed} of {len(rows) - 1} catalog rows"


if __name__ == "__main__" and sys.argv[1:2] == ["seed"]:
    # `python bench/catalog.py seed N`, in the environment of the database to fill (see _seed_into).
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    print(json.dumps(seed(int(sys.argv[2]))))
