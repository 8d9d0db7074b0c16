"""The automatic pre-review: each check with a hit, a clean case and a similar-but-fine case; the word list
maintained by operators; the API; the template include for the wizard."""

import io
import zipfile

import pytest
from django.template.loader import render_to_string
from PIL import Image as PILImage
from PIL import ImageDraw

from shelf.errors import RuleViolations
from shelf.prereview import documents
from shelf.prereview.checks import Hit, prereview, white_border_share
from shelf.prereview.models import ClaimWord
from shelf.products.models import Revision
from shelf.products.services import document_set, picture_add, product_create
from tests.products.conftest import png_bytes

FULL_DETAILS = """## 产品功能
LAMP 环境，开箱即用。

## 使用场景
个人网站、企业官网。

## 使用指南
登录后访问 http://服务器IP/ 即可。文档见 [安装说明](https://docs.example.com/lamp/install)。

## 服务流程
购买后自动交付镜像。

## 售后支持
7 x 8 小时，邮箱 support@example.com。
"""


# ---------------------------------------------------------------- helpers


def pdf_with_text(*lines: str) -> bytes:
    """A one-page PDF written by hand: Helvetica (a standard Type1 font) and one BT … ET text object per line."""
    ops = []
    for i, line in enumerate(lines):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"BT /F1 12 Tf 72 {720 - 16 * i} Td ({escaped}) Tj ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>",
        b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def blank_pdf(pages: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes(*paragraphs: str) -> bytes:
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{p}</w:t></w:r></w:p>' for p in paragraphs)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>',
        )
    return buffer.getvalue()


def pptx_bytes(*slides: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
        for number, text in enumerate(slides, 1):
            archive.writestr(f"ppt/slides/slide{number}.xml", f"<p:sld><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:sld>")
    return buffer.getvalue()


def picture(color=(30, 120, 200), *, inner=None, frame=None, fmt="PNG", mode="RGB") -> bytes:
    """A 390 x 260, 72 dpi picture: a background, optionally a centred block (`inner`) or a 20 px frame."""
    image = PILImage.new(mode, (390, 260), color)
    draw = ImageDraw.Draw(image)
    if inner:
        draw.rectangle((100, 60, 290, 200), fill=inner)
    if frame:
        for offset in range(20):
            draw.rectangle((offset, offset, 389 - offset, 259 - offset), outline=frame)
    buffer = io.BytesIO()
    image.save(buffer, fmt, dpi=(72, 72))
    return buffer.getvalue()


@pytest.fixture
def org(alice):
    return alice.organizations.get()


@pytest.fixture
def draft(alice, org):
    """`draft(**fields)`: a revision of alice's with the given text fields."""

    def make(**fields):
        return product_create(actor=alice, organization=org, changes=fields or None)

    return make


def codes(hits, field=None):
    return [h.code for h in hits if field is None or h.field == field]


def word_hits(hits):
    return [h for h in hits if h.code in ("absolute_claim", "cloud_vendor", "offsite_purchase")]


# ------------------------------------------------------- absolute claims


def test_absolute_claim_in_name_names_field_and_quotes_the_words(draft):
    hits = prereview(draft(name="全网最好的 LAMP 镜像（Debian 12）"))
    [hit] = word_hits(hits)
    assert isinstance(hit, Hit)
    assert (hit.field, hit.code) == ("name", "absolute_claim")
    assert "最好" in hit.message and "Name" in hit.message
    assert hit.quote == "全网最好的 LAMP 镜像（Debian 12）"  # the hit with its context (the name is short)


def test_claim_quote_is_about_twenty_characters_either_side(draft):
    details = "甲" * 50 + "国家级" + "乙" * 50
    [hit] = [h for h in prereview(draft(details=details)) if h.code == "absolute_claim"]
    assert hit.quote == "…" + "甲" * 20 + "国家级" + "乙" * 20 + "…"


def test_no_claim_in_plain_text(draft):
    assert word_hits(prereview(draft(name="LAMP 环境（Debian 12）", summary="A ready LAMP stack."))) == []


def test_zui_in_ordinary_words_is_not_a_claim(draft):
    # 最近 (recently), 最新版本 (latest version), 最低配置 (minimum size) are facts, not advertising.
    revision = draft(summary="最近更新：PHP 升级到最新版本，最低配置 1 核 1 GB，最后一步重启。")
    assert word_hits(prereview(revision)) == []


def test_zui_claim_next_to_allowed_words_still_hits(draft):
    [hit] = word_hits(prereview(draft(summary="最新版本，性能最强")))
    assert hit.code == "absolute_claim" and "最强" in hit.message and "最强" in hit.quote


def test_longer_claim_wins_over_the_word_inside_it(draft):
    hits = word_hits(prereview(draft(summary="全网第一的最佳选择")))
    assert sorted(h.message.split("“")[1].split("”")[0] for h in hits) == ["全网第一", "最佳"]


def test_one_hit_per_word_per_field(draft):
    hits = word_hits(prereview(draft(name="顶级 LAMP", summary="顶级 顶级 顶级", details="顶级 support@example.com")))
    assert [(h.field, h.code) for h in hits] == [
        ("name", "absolute_claim"),
        ("summary", "absolute_claim"),
        ("details", "absolute_claim"),
    ]


@pytest.mark.parametrize(
    "text, hit",
    [
        ("Simply the best LAMP stack", True),
        ("THE BEST stack", True),
        ("ｂｅｓｔ stack", True),  # full-width letters are normalised
        ("我们是 No.1 供应商", True),
        ("a world-class stack", True),
        ("bestseller stack", False),
        ("best-effort support", False),
        ("follows best practices for PHP", False),
        ("No.10 release notes", False),
    ],
)
def test_latin_words_match_whole_words_only(draft, text, hit):
    assert bool(word_hits(prereview(draft(summary=text)))) is hit


def test_absolute_claim_in_document_text(alice, draft):
    revision = draft()
    document_set(
        actor=alice,
        revision=revision,
        filename="guide.pdf",
        fileobj=io.BytesIO(pdf_with_text("The best LAMP guide: log in as root, open the console,", "then run setup.")),
    )
    hits = prereview(revision)
    assert [(h.field, h.code) for h in hits if h.field == "document"] == [("document", "absolute_claim")]
    assert "The best LAMP guide" in [h for h in hits if h.field == "document"][0].quote


# --------------------------------------------------------- cloud vendors


def test_other_cloud_vendor_hits(draft):
    hits = word_hits(prereview(draft(summary="Migrate from AWS or 阿里云 in minutes")))
    assert [(h.field, h.code) for h in hits] == [("summary", "cloud_vendor"), ("summary", "cloud_vendor")]
    assert "AWS" in hits[0].message and "阿里云" in hits[1].message


def test_vendor_letters_inside_a_word_are_fine(draft):
    assert word_hits(prereview(draft(summary="Follows the laws of physics; runs on any KVM host"))) == []


def test_jd_cloud_is_one_vendor_hit_not_a_shop_too(draft):
    hits = word_hits(prereview(draft(summary="也可部署在京东云")))
    assert codes(hits) == ["cloud_vendor"]


# --------------------------------------------------- offsite purchases


def test_purchase_hint_in_text_hits(draft):
    hits = word_hits(prereview(draft(summary="优惠请加微信 lamp2024")))
    assert codes(hits) == ["offsite_purchase"] and "加微信" in hits[0].quote


def test_wechat_as_a_product_feature_is_fine(draft):
    assert word_hits(prereview(draft(summary="支持微信登录和 WeChat Pay 回调"))) == []


def test_taobao_link_is_a_hit_quoting_the_url(draft):
    hits = prereview(draft(details="更多优惠见[我们的淘宝店](https://shop123.taobao.com/item.htm?id=1)。"))
    [link] = [h for h in hits if h.code == "offsite_link"]
    assert link.field == "details" and link.quote == "https://shop123.taobao.com/item.htm?id=1"
    assert "shop123.taobao.com" in link.message
    # The words inside the flagged link are not reported a second time.
    assert word_hits(hits) == []


def test_docs_links_are_not_hits(draft):
    details = (
        "See [the docs](https://docs.example.com/lamp/guide), https://docs.example.com/install and <mailto:a@b.c>."
    )
    assert [h for h in prereview(draft(details=details)) if h.code == "offsite_link"] == []


@pytest.mark.parametrize(
    "details",
    [
        "Order here: https://example.com/buy?plan=pro",
        "[立即购买](https://example.com/p/1)",
        '<a href="https://example.com/x">Buy now</a>',
        "https://www.amazon.com/dp/B000123",
        "www.tmall.com/shop/lamp",
        "[店铺][1]\n\n[1]: https://item.jd.com/100.html",
    ],
)
def test_purchase_links_hit(draft, details):
    assert "offsite_link" in codes(prereview(draft(details=details)))


@pytest.mark.parametrize(
    "details",
    [
        "https://aws.amazon.com/ec2/",
        "https://example.com/docs/reorder-columns",
        "[Ordering guide](https://example.com/g)",
    ],
)
def test_similar_links_are_fine(draft, details):
    assert "offsite_link" not in codes(prereview(draft(details=details)))


# -------------------------------------------------------------- pictures


def test_white_background_picture_hits(alice, draft):
    revision = draft()
    picture_add(actor=alice, revision=revision, fileobj=io.BytesIO(picture((255, 255, 255), inner=(200, 30, 30))))
    hits = prereview(revision)
    assert [(h.field, h.code) for h in hits if h.field.startswith("pictures")] == [
        ("pictures[0]", "picture_white_background")
    ]
    assert "Picture 1" in hits[-1].message


def test_coloured_picture_is_fine(alice, draft):
    revision = draft()
    picture_add(actor=alice, revision=revision, fileobj=io.BytesIO(png_bytes()))
    assert [h for h in prereview(revision) if h.field.startswith("pictures")] == []


def test_white_picture_with_a_coloured_frame_is_fine(alice, draft):
    revision = draft()
    picture_add(actor=alice, revision=revision, fileobj=io.BytesIO(picture((255, 255, 255), frame=(20, 60, 160))))
    assert [h for h in prereview(revision) if h.field.startswith("pictures")] == []


def test_off_white_background_counts_as_white():
    assert white_border_share(picture((248, 250, 252), inner=(0, 0, 0))) == 1.0
    assert white_border_share(picture((235, 235, 235), inner=(0, 0, 0))) == 0.0


def test_transparent_background_counts_as_white():
    assert white_border_share(picture((0, 0, 0, 0), inner=(200, 30, 30, 255), mode="RGBA")) == 1.0


def test_jpeg_picture_hits_not_png(alice, draft):
    revision = draft()
    picture_add(actor=alice, revision=revision, fileobj=io.BytesIO(png_bytes()))
    picture_add(actor=alice, revision=revision, fileobj=io.BytesIO(picture(fmt="JPEG")))
    hits = [h for h in prereview(revision) if h.field.startswith("pictures")]
    assert [(h.field, h.code, h.quote) for h in hits] == [("pictures[1]", "picture_not_png", "JPEG")]
    assert "Picture 2" in hits[0].message and "PNG" in hits[0].message


# -------------------------------------------------------------- sections


def test_details_with_every_section_and_an_email_have_no_hit(draft):
    assert prereview(draft(details=FULL_DETAILS)) == []


def test_missing_sections_are_each_named(draft):
    hits = prereview(draft(details="## Features\n\nApache, MySQL and PHP.\n\n## Support\n\n7x8, support@example.com"))
    assert codes(hits) == ["missing_use_cases", "missing_usage_guide", "missing_service_process"]
    assert all(h.field == "details" and h.quote == "" for h in hits)
    assert "use cases" in hits[0].message and "usage guide" in hits[1].message


def test_use_cases_heading_is_not_a_usage_guide(draft):
    details = FULL_DETAILS.replace("## 使用指南", "## 其他")
    assert codes(prereview(draft(details=details))) == ["missing_usage_guide"]


def test_unstructured_details_count_keywords_anywhere(draft):
    details = (
        "本镜像的功能：LAMP。适用场景：建站。使用方法见文档。服务流程：购买后自动交付。售后支持 7x8。\n"
        "邮箱：support@example.com\n电话：13812345678\n"
    )
    assert prereview(draft(details=details)) == []


def test_missing_contact(draft):
    details = FULL_DETAILS.replace("邮箱 support@example.com", "工作日在线")
    assert codes(prereview(draft(details=details))) == ["missing_contact"]


@pytest.mark.parametrize(
    "contact",
    ["电话 13812345678", "热线 400-820-1234", "QQ：12345678", "提交工单", "+86 13912345678", "ops@shelf.example"],
)
def test_contacts_that_count(draft, contact):
    details = FULL_DETAILS.replace("邮箱 support@example.com", contact)
    assert "missing_contact" not in codes(prereview(draft(details=details)))


@pytest.mark.parametrize("contact", ["电话 1381234567", "版本 12345678901234", "联系我们"])
def test_almost_contacts_do_not_count(draft, contact):
    details = FULL_DETAILS.replace("邮箱 support@example.com", contact)
    assert "missing_contact" in codes(prereview(draft(details=details)))


def test_empty_details_get_no_section_hits(draft):
    assert prereview(draft()) == []  # the wizard's own rules already require details


# -------------------------------------------------------------- document


def test_pdf_with_text_has_no_hit(alice, draft):
    revision = draft()
    pdf = pdf_with_text("LAMP user guide", "1. Log in over SSH as root.", "2. Open http://server/ to finish setup.")
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(pdf), filename="guide.pdf")
    assert prereview(revision) == []


def test_pdf_without_text_hits(alice, draft):
    revision = draft()
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(blank_pdf(2)), filename="scan.pdf")
    [hit] = prereview(revision)
    assert (hit.field, hit.code, hit.quote) == ("document", "document_no_text", "scan.pdf")
    assert "scan.pdf" in hit.message


def test_pdf_that_cannot_be_parsed_never_reaches_the_prereview(alice, draft):
    # A marker without a cross-reference table used to pass the upload; a PDF parser must open it now.
    revision = draft()
    unparsable = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    with pytest.raises(RuleViolations) as excinfo:
        document_set(actor=alice, revision=revision, fileobj=io.BytesIO(unparsable), filename="odd.pdf")
    assert [v.code for v in excinfo.value.violations] == ["corrupt"]
    assert prereview(revision) == []


def test_pdf_with_only_a_title_is_almost_no_text(alice, draft):
    revision = draft()
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(pdf_with_text("Guide")), filename="g.pdf")
    assert codes(prereview(revision)) == ["document_no_text"]


def test_docx_with_text_has_no_hit_and_without_text_hits(alice, draft):
    revision = draft()
    docx = docx_bytes("LAMP 使用指南", "第一步：用 SSH 登录服务器，然后打开浏览器完成安装向导。")
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(docx), filename="guide.docx")
    assert revision.document.kind == "docx"
    assert prereview(revision) == []
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(docx_bytes("", " ")), filename="empty.docx")
    revision = Revision.objects.get(pk=revision.pk)
    assert codes(prereview(revision)) == ["document_no_text"]


def test_docx_text_is_searched_for_claims(alice, draft):
    revision = draft()
    docx = docx_bytes("LAMP 使用指南：这是国家级的 LAMP 环境，用 SSH 登录后即可使用。")
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(docx), filename="guide.docx")
    assert [(h.field, h.code) for h in prereview(revision)] == [("document", "absolute_claim")]


def test_pptx_with_text_has_no_hit(alice, draft):
    revision = draft()
    pptx = pptx_bytes("LAMP quick start", "Log in over SSH, then open the setup page in a browser.")
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(pptx), filename="deck.pptx")
    assert revision.document.kind == "pptx"
    assert prereview(revision) == []


def test_zip_document_is_not_read(alice, draft):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "")
    revision = draft()
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(buffer.getvalue()), filename="docs.zip")
    assert revision.document.kind == "zip"
    assert prereview(revision) == []


def test_extraction_stopped_by_a_bound_is_unknown_not_empty(monkeypatch):
    data = blank_pdf(3)
    assert documents.extract_text(data, "pdf") == "\n\n"  # looked at every page: really no text
    monkeypatch.setattr(documents, "PDF_MAX_PAGES", 2)
    assert documents.extract_text(data, "pdf") is None  # pages left unseen: cannot tell
    monkeypatch.undo()
    assert documents.extract_text(data, "pdf", time_budget=-1) is None  # out of time: cannot tell


def test_damaged_documents_are_unknown():
    assert documents.extract_text(b"%PDF-1.4 garbage", "pdf") is None
    assert documents.extract_text(b"PK\x03\x04 garbage", "docx") is None
    assert documents.extract_text(b"whatever", "doc") is None


def test_document_xml_entities_are_not_expanded():
    xml = '<!DOCTYPE x [<!ENTITY a "AAAAAAAAAA">]><w:document><w:t>&a;&a;&amp;&#x4E2D;</w:t></w:document>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", xml)
    assert documents.extract_text(buffer.getvalue(), "docx") == "&a;&a;&中"


# ------------------------------------------------- word list (operators)


def test_seed_list_is_installed(db):
    words = set(ClaimWord.objects.filter(is_active=True).values_list("word", "kind"))
    assert {
        ("最", "absolute_claim"),
        ("AWS", "cloud_vendor"),
        ("淘宝", "purchase_link_hint"),
        ("最近", "allowed"),
    } <= words
    assert ClaimWord.objects.get(word="阿里云").language == "zh"
    assert ClaimWord.objects.get(word="Alibaba Cloud").language == "en"


def test_operator_adds_a_word_in_the_console_and_it_hits(web, olivia, draft):
    revision = draft(summary="超值 LAMP 套餐")
    assert word_hits(prereview(revision)) == []
    client = web(olivia)
    page = client.get("/operator/prereview-words/")
    assert page.status_code == 200 and "极品" in page.content.decode()
    response = client.post("/operator/prereview-words/", {"word": "超值", "kind": "absolute_claim", "note": "promo"})
    assert response.status_code == 302
    word = ClaimWord.objects.get(word="超值")
    assert (word.language, word.created_by, word.is_active) == ("zh", olivia, True)
    [hit] = word_hits(prereview(revision))
    assert hit.code == "absolute_claim" and "超值" in hit.quote


def test_duplicate_word_is_refused(web, olivia):
    response = web(olivia).post("/operator/prereview-words/", {"word": "aws", "kind": "cloud_vendor"})
    assert response.status_code == 422 and "already in the list" in response.content.decode()


def test_deactivated_word_no_longer_hits_and_can_come_back(web, olivia, draft):
    revision = draft(summary="极品 LAMP")
    assert codes(word_hits(prereview(revision))) == ["absolute_claim"]
    word = ClaimWord.objects.get(word="极品")
    client = web(olivia)
    assert client.post(f"/operator/prereview-words/{word.pk}/active/", {"active": "0"}).status_code == 302
    word.refresh_from_db()
    assert not word.is_active
    assert word_hits(prereview(revision)) == []
    # Adding it again reactivates it.
    assert client.post("/operator/prereview-words/", {"word": "极品", "kind": "absolute_claim"}).status_code == 302
    assert codes(word_hits(prereview(revision))) == ["absolute_claim"]


def test_allowed_phrase_added_by_an_operator_hides_hits(web, olivia, draft):
    revision = draft(summary="第一时间响应")
    assert codes(word_hits(prereview(revision))) == ["absolute_claim"]
    web(olivia).post("/operator/prereview-words/", {"word": "第一时间", "kind": "allowed"})
    assert word_hits(prereview(revision)) == []


def test_word_list_page_is_for_operators_only(web, alice, client):
    assert web(alice).get("/operator/prereview-words/").status_code == 404
    assert web(alice).post("/operator/prereview-words/", {"word": "x1", "kind": "allowed"}).status_code == 404
    assert client.get("/operator/prereview-words/").status_code == 302  # to the login page
    assert not ClaimWord.objects.filter(word="x1").exists()


def test_operator_nav_lists_the_page(web, olivia):
    page = web(olivia).get("/operator/prereview-words/").content.decode()
    assert 'href="/operator/prereview-words/"' in page and "Pre-review words" in page


# ------------------------------------------------------------------ API


def test_provider_gets_hits_from_the_api(api, alice, draft):
    revision = draft(name="最好的 LAMP", details=FULL_DETAILS)
    response = api(alice).get(f"products/{revision.product_id}/prereview")
    assert response.status_code == 200
    assert response.json() == [
        {
            "field": "name",
            "code": "absolute_claim",
            "message": response.json()[0]["message"],
            "quote": "最好的 LAMP",
        }
    ]


def test_others_get_404_from_the_api(api, bob, olivia, draft):
    revision = draft(name="最好的 LAMP")
    for user in (bob, olivia):
        response = api(user).get(f"products/{revision.product_id}/prereview")
        assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_found"
    assert api(None).get(f"products/{revision.product_id}/prereview").status_code == 401


# ------------------------------------------------------------- template


def test_hits_include_renders_warnings_and_the_all_clear():
    hits = [Hit("summary", "absolute_claim", "Summary: “最好” is an absolute advertising claim.", "最好的 <b>LAMP</b>")]
    html = render_to_string("prereview/_hits.html", {"hits": hits})
    assert 'class="banner warn prereview"' in html and 'data-code="absolute_claim"' in html
    assert "<strong>Summary</strong>" in html and "&lt;b&gt;LAMP&lt;/b&gt;" in html  # quotes are escaped
    assert "✓" in render_to_string("prereview/_hits.html", {"hits": []})
    assert render_to_string("prereview/_hits.html", {}).strip() == ""


def test_wizard_review_step_panel_runs_the_prereview(draft):
    from shelf.products.models import Revision
    from shelf.products.signals import revision_review_panels

    revision = draft(summary="顶级 LAMP")
    [html] = [html for _receiver, html in revision_review_panels.send(sender=Revision, revision=revision)]
    assert 'data-code="absolute_claim"' in html and "顶级 LAMP" in html


def test_messages_are_translated(draft):
    from django.utils import translation

    revision = draft(name="国家级 LAMP")
    with translation.override("zh-hans"):
        [hit] = prereview(revision)
    assert hit.message.startswith("名称：“国家级”是广告法禁止的绝对化用语")
