"""Seeding of the catalog benchmark (bench/catalog.py): realistic listed products, bulk-inserted.

A few hundred provider organisations, the real regions and category tree from the catalog reference data, one
available image per region (with a passed scan) that every delivery uses, and per product a listed revision
with mixed Chinese and English name, summary, tags, integrated software and details, 1-3 pictures, a document
and 1-4 deliveries. Words follow a Zipf-like spread, so common ones (镜像 in all products, 建站 in about 40%,
MySQL, WordPress) are in thousands of products and rare ones in a few. Going through the services (upload,
scan, review) 100,000 times would take hours; the rows are the ones those services write, and the storefront's
own `catalog_reindex` builds the catalog from them.

The seeded database is cached under a hash of this file and of the migrations: a change here seeds anew.
Run as `python bench/catalog_seed.py seed N` in the environment of a migrated database.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import time
import uuid
from bisect import bisect
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from itertools import accumulate
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROVIDERS = 300
BATCH = 2000

# --------------------------------------------------------------------------- vocabulary
# Lists run from common to rare: `_zipf` picks the k-th entry with weight 1 / k**s.

# fmt: off
# Words of every kind of product (镜像 "image" is in nearly all of them, as on any image marketplace).
ZH_COMMON = [
    "镜像", "一键部署", "高性能", "企业版", "稳定", "中文版", "官方", "环境", "加速", "安全加固", "高可用", "国产化",
    "信创", "自动化", "鲲鹏", "麒麟", "统信", "龙芯", "小程序", "人工智能", "大数据", "在线教育", "直播", "视频",
]
EN_WORDS = [
    "one-click", "secure", "fast", "optimized", "production-ready", "high availability", "backup", "monitoring",
    "cluster", "cache", "SSL", "HTTPS", "load balancing", "firewall", "multisite", "headless", "API", "GPU",
    "analytics", "migration", "replication", "sharding", "observability", "zero-downtime",
]
OSES = [
    "Ubuntu 22.04", "Debian 12", "CentOS 7.9", "Rocky Linux 9", "AlmaLinux 9", "Alibaba Cloud Linux 3",
    "openEuler 22.03", "Ubuntu 24.04", "Debian 11", "Kylin V10",
]
WINDOWS = ["Windows Server 2022", "Windows Server 2019", "Windows Server 2016"]
# leaf slug -> (weight, the main software sold there, what is bundled with it, the Chinese words of its trade)
CATEGORY_SOFTWARE = {
    "website-cms": (30, ["WordPress", "DedeCMS", "Drupal", "PbootCMS", "Joomla", "帝国CMS", "Ghost"],
                    ["PHP", "MySQL", "nginx", "Apache", "Redis"],
                    ["建站", "网站", "内容管理", "企业官网", "模板", "多站点", "SEO"]),
    "devtools-runtime": (20, ["LAMP", "LNMP", "Docker", "Node.js", "Python", "Java", "PHP", "Go", "Tomcat", ".NET"],
                         ["nginx", "MySQL", "Redis", "Git", "Supervisor"],
                         ["运行环境", "开发", "容器", "建站", "负载均衡", "微服务", "编译"]),
    "ops-panel": (16, ["宝塔面板", "1Panel", "aaPanel", "Webmin", "cPanel"],
                  ["nginx", "MySQL", "PHP", "Docker", "Pure-FTPd"],
                  ["运维", "面板", "宝塔", "建站", "服务器管理", "可视化", "备份"]),
    "os-linux": (14, ["Ubuntu", "Debian", "CentOS", "Rocky Linux", "AlmaLinux", "openEuler"],
                 ["OpenSSH", "Docker", "Python", "Git"],
                 ["操作系统", "运维", "内核优化", "安全", "长期支持", "纯净版"]),
    "database-relational": (12, ["MySQL", "PostgreSQL", "MariaDB", "SQL Server", "TiDB"],
                            ["phpMyAdmin", "pgAdmin", "Redis", "Percona Toolkit"],
                            ["数据库", "主从复制", "备份", "高可用", "读写分离", "分库分表"]),
    "website-ecommerce": (10, ["WooCommerce", "Magento", "ShopXO", "CRMEB", "OpenCart", "PrestaShop"],
                          ["WordPress", "PHP", "MySQL", "Redis", "Elasticsearch"],
                          ["电商", "商城", "建站", "跨境电商", "会员系统", "支付", "分销"]),
    "database-nosql": (8, ["Redis", "MongoDB", "Elasticsearch", "ClickHouse", "Cassandra"],
                       ["Kibana", "Docker", "Grafana"],
                       ["数据库", "缓存", "集群", "搜索", "日志", "分析"]),
    "website-blog": (8, ["WordPress", "Discuz", "Typecho", "Halo", "Ghost", "Flarum"],
                     ["PHP", "MySQL", "nginx", "Node.js"],
                     ["博客", "论坛", "建站", "社区", "知识库", "个人网站"]),
    "devtools-cicd": (6, ["Jenkins", "GitLab", "Gitea", "Kubernetes", "Harbor", "Drone"],
                      ["Docker", "Java", "PostgreSQL", "Redis", "Helm"],
                      ["持续集成", "代码托管", "容器", "自动化", "运维", "镜像仓库"]),
    "ops-monitoring": (6, ["Zabbix", "Prometheus", "Grafana", "Nagios", "夜莺"],
                       ["MySQL", "Alertmanager", "Docker", "nginx"],
                       ["监控", "告警", "运维", "日志", "可视化", "大屏"]),
    "os-windows": (5, ["Windows Server", "SQL Server", "IIS", ".NET Framework"],
                   ["IIS", ".NET", "PowerShell", "Remote Desktop"],
                   ["操作系统", "远程桌面", "建站", "中文版", "激活"]),
    "security-waf": (4, ["雷池 SafeLine", "ModSecurity", "OpenResty", "nginx"],
                     ["OpenResty", "Lua", "Docker", "fail2ban"],
                     ["安全", "防火墙", "网站防护", "防护", "漏洞扫描", "等保"]),
    "security-vpn": (3, ["OpenVPN", "WireGuard", "SoftEther", "strongSwan"],
                     ["iptables", "Docker", "OpenSSL"],
                     ["安全", "组网", "远程办公", "加密", "负载均衡"]),
}
EN_TAGS = ["WordPress", "LAMP", "nginx", "MySQL", "Docker", "Kubernetes", "PHP", "Redis", "Linux", "Python", "Java",
           "SSL"]
# fmt: on
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
    _weight, mains, bundled, trade = CATEGORY_SOFTWARE[leaf]
    main = _zipf(rng, mains, 0.9)
    os_name = _zipf(rng, WINDOWS if leaf == "os-windows" else OSES, 0.8)
    extras = [s for s in _distinct(rng, bundled, rng.randint(1, 3)) if s != main]
    # Two words of the product's trade, then two of every trade: 建站 is in about a third of the catalog.
    zh = [*_distinct(rng, trade, 2), *_distinct(rng, ZH_COMMON[1:], 2)]
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
    tags = _distinct(rng, [*trade, *ZH_COMMON[:8], *EN_TAGS], rng.randint(1, 5))
    software = [main, *extras][:5]
    features = _distinct(rng, EN_WORDS, 3)
    slots = [provider, main, version, zh[0], os_name, zh[1], zh[3], rng.choice(BENEFITS), rng.choice(BENEFITS),
             _zipf(rng, trade), _zipf(rng, ZH_COMMON), *(f.capitalize() for f in features),
             main, os_name, extras[0] if extras else "nginx", _zipf(rng, ZH_COMMON)]  # fmt: skip
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
    from shelf.products.models import Product, Revision

    started = time.perf_counter()
    rng = random.Random(13)  # noqa: S311 - reproducible test data, not secrets
    # The rows carry their own spread of dates (the services would have set them over the years): the automatic
    # dates are off while seeding, and back on afterwards.
    dated = [(Product, "created_at"), (Revision, "created_at"), (Revision, "updated_at")]
    saved = [(f, f.auto_now, f.auto_now_add) for f in (model._meta.get_field(name) for model, name in dated)]
    for model_field, _auto_now, _auto_now_add in saved:
        model_field.auto_now = model_field.auto_now_add = False
    try:
        return _seed(count, rng, started)
    finally:
        for model_field, auto_now, auto_now_add in saved:
            model_field.auto_now, model_field.auto_now_add = auto_now, auto_now_add


def _seed(count: int, rng: random.Random, started: float) -> dict:
    from django.db import transaction

    from shelf.accounts.models import Organization
    from shelf.catalog.models import Agreement, Category, Region
    from shelf.images.models import Image
    from shelf.products.models import Delivery, Document, Picture, Product, Revision
    from shelf.scanning.models import Scan

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
        # Each provider sells its own images (the wizard's rule), one per region, each with a passed scan.
        packages = [
            {"name": p, "version": f"{rng.randint(1, 9)}.{rng.randint(0, 30)}", "arch": "amd64",
             "ecosystem": "Debian:12", "source_name": p, "source_version": "1", "purl": f"pkg:deb/debian/{p}"}
            for p in ["nginx", "mysql-server", "php8.2", "redis", "openssh-server", "docker-ce",
                      *(f"lib{i}" for i in range(300))]
        ]  # fmt: skip
        images = Image.objects.bulk_create(
            [
                Image(organization=org, region=region, name=f"bench-{code}", disk_format="qcow2", status="available",
                      virtual_size=20 * 1024**3, stored_size=2 * 1024**3, available_at=now,
                      sha256=hashlib.sha256(f"{org.pk}-{code}".encode()).hexdigest())
                for org in orgs for code, region in regions.items()
            ],
            batch_size=500,
        )  # fmt: skip
        Scan.objects.bulk_create(
            [
                Scan(image=image, status="done", verdict="passed", started_at=now, finished_at=now,
                     engine_version="bench", vulndb_updated_at=now, packages=packages,
                     os={"family": "debian", "distro": "debian", "version": "12",
                         "pretty_name": "Debian GNU/Linux 12", "arch": "x86_64", "eol": False, "eol_date": None})
                for image in images
            ],
            batch_size=200,
        )  # fmt: skip
        image_of = {(image.organization_id, image.region_id): image for image in images}
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
                org_id = revision.product.organization_id
                deliveries += [
                    Delivery(revision=revision, region=regions[c], image=image_of[(org_id, regions[c].pk)])
                    for c in picked
                ]
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
    if render.mismatches:
        print(f"details rendered by the real renderer: the fast path differed ({render.mismatches})", file=sys.stderr)
    return {**counts, "providers": len(orgs), "seed_seconds": time.perf_counter() - started}


if __name__ == "__main__" and sys.argv[1:2] == ["seed"]:
    # `python bench/catalog_seed.py seed N`, in the environment of the database to fill (see _seed_into).
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.db import connection

    figures = seed(int(sys.argv[2]))
    if connection.vendor == "sqlite":  # the cached copy is the database file alone
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(json.dumps(figures))
