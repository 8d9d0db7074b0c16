"""Reference data every installation starts with: regions, the category tree, agreement templates.

Seeded by a migration so production gets it too; operators edit it afterwards. Seeding is
idempotent: rows are matched by code/slug/title and left alone when present.
"""

REGIONS = [
    ("ap-guangzhou", "华南地区（广州）", "South China (Guangzhou)"),
    ("ap-shanghai", "华东地区（上海）", "East China (Shanghai)"),
    ("ap-beijing", "华北地区（北京）", "North China (Beijing)"),
    ("ap-chengdu", "西南地区（成都）", "Southwest China (Chengdu)"),
    ("ap-hongkong", "港澳台地区（中国香港）", "Hong Kong, China"),
    ("na-siliconvalley", "美国西部（硅谷）", "US West (Silicon Valley)"),
]

CATEGORIES = [
    (
        "os",
        "操作系统",
        "Operating systems",
        [
            ("os-linux", "Linux", "Linux"),
            ("os-windows", "Windows", "Windows"),
        ],
    ),
    (
        "website",
        "建站系统",
        "Website builders",
        [
            ("website-cms", "内容管理", "Content management"),
            ("website-ecommerce", "电商建站", "E-commerce"),
            ("website-blog", "博客论坛", "Blogs and forums"),
        ],
    ),
    (
        "database",
        "数据库",
        "Databases",
        [
            ("database-relational", "关系型数据库", "Relational databases"),
            ("database-nosql", "NoSQL 数据库", "NoSQL databases"),
        ],
    ),
    (
        "devtools",
        "开发工具",
        "Developer tools",
        [
            ("devtools-runtime", "运行环境", "Runtime environments"),
            ("devtools-cicd", "持续集成", "CI/CD"),
        ],
    ),
    (
        "ops",
        "运维管理",
        "Operations",
        [
            ("ops-panel", "服务器面板", "Server control panels"),
            ("ops-monitoring", "监控告警", "Monitoring and alerting"),
        ],
    ),
    (
        "security",
        "安全",
        "Security",
        [
            ("security-waf", "网站防护", "Web application firewalls"),
            ("security-vpn", "VPN 与网络安全", "VPN and network security"),
        ],
    ),
]

AGREEMENT_TEMPLATES = [
    (
        "云市场商品服务协议（标准版） / Marketplace product service agreement (standard)",
        "本协议由服务商与购买商品的用户订立，约定镜像商品的交付、服务范围、售后支持与双方责任。\n\n"
        "1. 服务内容：服务商按商品详情页所述交付镜像及相关服务。\n"
        "2. 售后支持：服务商至少提供 7×8 小时的技术支持，联系方式见商品详情页。\n"
        "3. 数据与隐私：未经用户同意，服务商不得收集或外传用户数据。\n"
        "4. 争议解决：双方协商解决；协商不成的，依法处理。\n\n"
        "This agreement between the provider and the buyer covers delivery of the image product, the scope of "
        "service, after-sales support (at least 7x8 hours, contact on the product page), data protection (no "
        "collection or transfer of the buyer's data without consent) and dispute resolution.",
    ),
]


def seed(apps, schema_editor=None):
    Region = apps.get_model("catalog", "Region")
    Category = apps.get_model("catalog", "Category")
    Agreement = apps.get_model("catalog", "Agreement")
    for position, (code, zh, en) in enumerate(REGIONS):
        Region.objects.get_or_create(code=code, defaults={"name_zh": zh, "name_en": en, "position": position})
    for position, (slug, zh, en, leaves) in enumerate(CATEGORIES):
        top, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name_zh": zh, "name_en": en, "position": position}
        )
        for leaf_position, (leaf_slug, leaf_zh, leaf_en) in enumerate(leaves):
            Category.objects.get_or_create(
                slug=leaf_slug,
                defaults={"name_zh": leaf_zh, "name_en": leaf_en, "parent": top, "position": leaf_position},
            )
    for title, body in AGREEMENT_TEMPLATES:
        Agreement.objects.get_or_create(title=title, organization=None, defaults={"body": body})
