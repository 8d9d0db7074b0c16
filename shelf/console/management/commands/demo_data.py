import secrets
import subprocess

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from shelf.accounts.models import User
from shelf.accounts.services import buyer_signup, operator_create, provider_signup
from shelf.console.demo.base import TEAM_ORGANIZATION, TEAM_USER, ensure_base_image
from shelf.console.demo.boot import ensure_boot_product
from shelf.console.demo.product import ensure_demo_product
from shelf.forms import ServiceError
from shelf.storefront.services import featured_add

DEMO_PASSWORD = "shelf-demo"  # noqa: S105 - documented demo credential, refused in production


class Command(BaseCommand):
    help = (
        "Create the demo users (alice and bob in two provider organisations, operator olivia, buyer bruce) and "
        "alice's two listed demo products on real, scanned images: an LNMP web stack and a boot test server that "
        "really boots when bruce buys it."
    )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo users are never created when SHELF_ENV=production.")
        with transaction.atomic():
            self._ensure_demo_users()
            self._relax_scan_policy()
            self._fund_buyer()
        self.stdout.write(
            f"Demo users ready (password {DEMO_PASSWORD!r}): alice, bob (providers), shelfteam (the marketplace's "
            "base images), olivia (operator), bruce (buyer)."
        )
        # Outside the transaction above: the image services hand work to each other on commit (validation, then the
        # scan), and the product steps each commit like the console's requests do.
        # A machine without the image tools, or whose scanner refuses the image, still gets working demo users: the
        # product is reported as missing, with the reason, and the next run tries again.
        alice, olivia = User.objects.get(username="alice"), User.objects.get(username="olivia")
        self._list(
            "Demo product",
            ensure_demo_product,
            alice,
            olivia,
            "`make system-deps` installs the image tools",
            feature=True,
        )
        # The boot test server's image is built from Debian packages: the first run needs the Debian mirrors.
        self._list(
            "Boot test product",
            ensure_boot_product,
            alice,
            olivia,
            "`make system-deps` installs the tools; the first build downloads Debian's kernel and busybox",
        )
        try:
            image, published = ensure_base_image(olivia=olivia)
        except (RuntimeError, OSError, subprocess.SubprocessError, *ServiceError) as exc:
            self.stderr.write(f"Base image not published: {exc} (`make system-deps` installs the image tools).")
        else:
            if published:
                self.stdout.write(f"Base image published: {image.name} ({image.region.code}).")

    def _list(self, label, ensure, alice, olivia, hint, feature=False):
        try:
            revision, created = ensure(alice=alice, olivia=olivia)
        except (RuntimeError, OSError, subprocess.SubprocessError, *ServiceError) as exc:
            self.stderr.write(f"{label} not listed: {exc} ({hint}).")
            return
        if created:
            self.stdout.write(f"{label} listed: {revision.name} (/products/{revision.product_id}/).")
            if feature:  # only when listed now: an operator who took it off the home page later is not overruled
                featured_add(actor=olivia, product_id=revision.product_id)

    def _relax_scan_policy(self):
        """A demo machine has no vulnerability data (Shelf ships none); let scans pass without it, visibly."""
        from shelf.scanning.models import ScanPolicy

        policy = ScanPolicy.current()
        if policy.updated_by_id is None and policy.require_vulndb:
            policy.require_vulndb = False
            policy.save(update_fields=["require_vulndb", "updated_at"])
            self.stdout.write(
                "Demo scan policy: images may pass without vulnerability data "
                "(operators can require it again under Scan policy; import OSV data with vulndb_import)."
            )

    def _fund_buyer(self):
        """bruce starts with 1000.00 CNY, topped up by olivia like any balance, so he can buy right away."""
        from shelf.orders.models import LedgerEntry
        from shelf.orders.services import topup

        bruce = User.objects.get(username="bruce")
        if not LedgerEntry.objects.filter(user=bruce).exists():
            topup(actor=User.objects.get(username="olivia"), user=bruce, amount="1000.00", reason="demo credit")
            self.stdout.write("Demo balance: bruce has 1000.00 CNY.")

    def _ensure_demo_users(self):
        # The demo password is weaker than the policy allows, so it is set directly after creation.
        # shelfteam is the marketplace's own team: its organisation holds the base images (docs/adr/0007).
        providers = [("alice", "Alice Images Ltd."), ("bob", "Bob Cloud Software"), (TEAM_USER, TEAM_ORGANIZATION)]
        for username, org_name in providers:
            if not User.objects.filter(username=username).exists():
                user, _org = provider_signup(
                    username=username,
                    email=f"{username}@example.com",
                    password=secrets.token_urlsafe(16),
                    organization_name=org_name,
                )
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
        for username, create in (("olivia", operator_create), ("bruce", buyer_signup)):
            if not User.objects.filter(username=username).exists():
                user = create(username=username, email=f"{username}@example.com", password=secrets.token_urlsafe(16))
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
