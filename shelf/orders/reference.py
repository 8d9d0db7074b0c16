"""Server sizes every installation starts with, priced like Tencent Cloud's standard S5 family (CNY).

Seeded by a migration for the regions that exist then (shelf.catalog.reference seeds six); operators change
prices, add sizes and take offers off sale afterwards in the console or the admin. Seeding is idempotent: rows
are matched by code, and by (region, type), and left alone when present.
"""

from decimal import Decimal

# code, family, vCPUs, memory MiB, monthly CNY, hourly CNY (mainland regions)
INSTANCE_TYPES = [
    ("S5.SMALL1", "Standard S5", 1, 1024, "45.00", "0.10"),
    ("S5.SMALL2", "Standard S5", 1, 2048, "70.00", "0.16"),
    ("S5.MEDIUM2", "Standard S5", 2, 2048, "90.00", "0.21"),
    ("S5.MEDIUM4", "Standard S5", 2, 4096, "130.00", "0.30"),
    ("S5.LARGE8", "Standard S5", 4, 8192, "260.00", "0.60"),
]
# Regions outside the mainland cost more, as on Tencent's price list.
REGION_FACTORS = {"ap-hongkong": Decimal("1.30"), "na-siliconvalley": Decimal("1.30")}
DISK_MIN_GIB, DISK_MAX_GIB = 20, 500


def seed(apps, schema_editor=None):
    Region = apps.get_model("catalog", "Region")
    InstanceType = apps.get_model("orders", "InstanceType")
    InstanceOffer = apps.get_model("orders", "InstanceOffer")
    cent = Decimal("0.01")
    for position, (code, family, vcpus, memory, monthly, hourly) in enumerate(INSTANCE_TYPES):
        instance_type, _ = InstanceType.objects.get_or_create(
            code=code, defaults={"family": family, "vcpus": vcpus, "memory_mib": memory, "position": position}
        )
        for region in Region.objects.all():
            factor = REGION_FACTORS.get(region.code, Decimal("1"))
            InstanceOffer.objects.get_or_create(
                region=region,
                instance_type=instance_type,
                defaults={
                    "price_monthly": (Decimal(monthly) * factor).quantize(cent),
                    "price_hourly": (Decimal(hourly) * factor).quantize(cent),
                    "disk_min_gib": DISK_MIN_GIB,
                    "disk_max_gib": DISK_MAX_GIB,
                },
            )
