"""alice's second demo product, one that really boots: the busybox test server of shelf.compute.bootimage (Debian's
cloud kernel, a busybox initramfs that prints the cloud-init seed's hostname and SSH keys on the serial console).

Made like the LNMP product (shelf.console.demo.product): imported through the image services, scanned by the real
scanner, submitted by alice and approved by olivia. Delivered in the LNMP product's region, where every server size
is on sale (shelf.orders.reference seeds an offer of each size in every region). Idempotent.
"""

from __future__ import annotations

from pathlib import Path

from shelf.accounts.models import User
from shelf.images.builders import convert
from shelf.images.models import Image
from shelf.products.models import Revision

from .product import DEMO_REGION, draft, ensure_listed, guide_pdf, picture_png, scanned_image

BOOT_IMAGE = "Shelf boot test server (demo)"
BOOT_NAME = "Shelf Boot Test Server 启动测试镜像"
BOOT_SUMMARY = (
    "极简启动测试镜像：Debian 12 内核加 busybox，开机在串口控制台显示 cloud-init 的主机名与 SSH 公钥。"
    "A tiny test server that shows its cloud-init seed on the console."
)
BOOT_DETAILS = """\
## 功能 Features

一台极简的测试服务器：Debian 12 云内核与 busybox 初始内存盘，开机读取 cloud-init（NoCloud）种子，
把实例 ID、主机名与 SSH 公钥打印到串口控制台，然后停在登录提示。没有 SSH 服务，也没有其他软件。
A tiny test server: Debian 12's cloud kernel and a busybox initramfs. On boot it reads the cloud-init (NoCloud)
seed, prints the instance id, hostname and SSH keys on the serial console and waits at a login-like prompt.
It runs no SSH server and no other software.

## 适用场景 Use cases

试用购买与交付流程：下单、等待启动、在控制台确认主机名和公钥、停止、启动、退订。
Try buying and delivery end to end: order, watch it boot, check the hostname and key on the console, stop,
start, terminate.

## 使用指南 Usage guide

1. 下单时上传 SSH 公钥并选择服务器规格。Upload your SSH public key and choose a server size.
2. 实例运行后打开控制台，查找以 `SHELF-SEED` 开头的行。Open the console and look for the `SHELF-SEED` lines.

## 服务流程 Service process

购买后自动交付。Delivered on purchase.

## 售后支持 After-sales support

这是测试镜像，仅提供工作日邮件支持。A test image: e-mail support on business days only.

## 联系方式 Contact

support@alice-images.example.com
"""
BOOT_GUIDE = (
    "Shelf Boot Test Server - quick start",
    "1. Buy it with your SSH public key; choose any server size.",
    "2. When the instance runs, open its console (shelf instance console ID).",
    "3. The SHELF-SEED lines show the hostname and the SSH key you gave.",
    "It runs no SSH server: it is a test of delivery, not a workstation.",
    "Support: support@alice-images.example.com (business days)",
)
BOOT_BADGES = (("Linux 6.1", (40, 40, 40)), ("busybox", (0, 120, 160)), ("cloud-init", (200, 110, 0)))


def boot_disk(directory: Path) -> Path:
    """The boot image (built once into the boot cache; needs the Debian mirrors the first time), as qcow2."""
    from shelf.compute import bootimage

    return convert(bootimage.build().disk, directory / "boot.qcow2", "qcow2")


def ensure_boot_product(*, alice: User, olivia: User) -> tuple[Revision, bool]:
    """alice's listed boot test server; True when this call listed it."""
    return ensure_listed(
        alice=alice,
        olivia=olivia,
        name=BOOT_NAME,
        image=lambda organization: scanned_image(
            alice,
            organization,
            name=BOOT_IMAGE,
            build=boot_disk,
            description="Debian 12 cloud kernel and a busybox initramfs that shows its cloud-init seed",
            os_hint="Debian 12",
        ),
        draft=_boot_draft,
    )


def _boot_draft(alice: User, organization, image: Image) -> Revision:
    return draft(
        alice,
        organization,
        changes={
            "category": "os-linux",
            "name": BOOT_NAME,
            "tags": ["测试", "启动", "busybox", "cloud-init"],
            "software": ["Linux 6.1 (Debian cloud kernel)", "BusyBox 1.35"],
            "deliveries": {DEMO_REGION: str(image.pk)},
            "billing_mode": "prepaid",
            "price_monthly": "1.00",
            "price_yearly": "10.00",
            "summary": BOOT_SUMMARY,
            "details": BOOT_DETAILS,
        },
        picture=picture_png("Boot Test Server", "Debian 12 kernel + busybox", BOOT_BADGES),
        guide=guide_pdf(BOOT_GUIDE),
        filename="boot-test-quick-start.pdf",
    )
