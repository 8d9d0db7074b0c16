"""A starting word list for the pre-review; operators extend and deactivate words from the console."""

from django.db import migrations

# (kind, words). The language of each word is derived from its characters.
SEED = [
    (
        "absolute_claim",
        [
            # Absolute claims the advertising law (广告法 第九条) forbids, and the usual variants.
            "最", "最佳", "最好", "最高", "最低", "最先进", "最强", "最优", "最便宜", "最低价", "第一", "唯一", "首个",
            "首家", "首选", "国家级", "世界级", "顶级", "极品", "独家", "全网第一", "全网最低", "销量冠军", "万能",
            "100%", "史无前例", "遥遥领先",
            "best", "No.1", "number one", "world-class", "world-leading", "best-in-class", "the only",
            "unbeatable", "first-ever",
        ],
    ),
    (
        "cloud_vendor",
        [
            "阿里云", "Aliyun", "Alibaba Cloud", "华为云", "Huawei Cloud", "AWS", "Amazon Web Services", "亚马逊云",
            "Azure", "微软云", "Google Cloud", "GCP", "谷歌云", "百度智能云", "百度云", "京东云", "UCloud", "优刻得",
            "七牛云", "金山云", "天翼云", "移动云", "火山引擎", "Volcengine", "青云", "QingCloud", "DigitalOcean",
            "Linode", "Vultr", "Oracle Cloud", "IBM Cloud",
        ],
    ),
    (
        "purchase_link_hint",
        [
            "淘宝", "天猫", "京东", "拼多多", "闲鱼", "微店", "有赞", "taobao", "tmall", "weidian", "pinduoduo",
            "加微信", "加我微信", "微信号", "加QQ", "QQ群", "私下交易", "线下交易", "私下转账",
            "add wechat", "add me on wechat", "wechat id", "buy at", "purchase at", "buy from",
        ],
    ),
    (
        "allowed",
        [
            # Ordinary technical words that contain a claim word.
            "最近", "最后", "最初", "最终", "最新版", "最新版本", "最大值", "最小值", "最低配置", "最低要求", "最小配置",
            "最高权限", "最佳实践", "第一步", "第一次", "第一章", "第一行", "第一列", "唯一标识", "唯一性", "顶级域名",
            "首选项", "best practice", "best practices", "best effort", "best regards",
        ],
    ),
]


def _language(word: str) -> str:
    return "zh" if any(ord(char) >= 0x2E80 for char in word) else "en"


def seed(apps, schema_editor):
    ClaimWord = apps.get_model("prereview", "ClaimWord")
    existing = {(word.lower(), kind) for word, kind in ClaimWord.objects.values_list("word", "kind")}
    ClaimWord.objects.bulk_create(
        ClaimWord(word=word, kind=kind, language=_language(word), note="seed")
        for kind, words in SEED
        for word in words
        if (word.lower(), kind) not in existing
    )


class Migration(migrations.Migration):
    dependencies = [("prereview", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
