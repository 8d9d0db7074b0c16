import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from shelf.accounts.services import operator_create
from shelf.errors import RuleViolations


class Command(BaseCommand):
    help = "Create a marketplace operator. The password comes from SHELF_OPERATOR_PASSWORD or a prompt."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", required=True)

    def handle(self, *args, username, email, **options):
        password = os.environ.get("SHELF_OPERATOR_PASSWORD") or getpass.getpass("Password: ")
        try:
            user = operator_create(username=username, email=email, password=password)
        except RuleViolations as exc:
            raise CommandError("\n".join(f"{v.field}: {v.message}" for v in exc.violations)) from exc
        self.stdout.write(self.style.SUCCESS(f"Operator {user.username} created."))
