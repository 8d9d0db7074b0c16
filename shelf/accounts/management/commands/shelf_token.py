from django.core.management.base import BaseCommand, CommandError

from shelf.accounts.models import User
from shelf.accounts.services import token_create


class Command(BaseCommand):
    help = "Create a new API token for USERNAME and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="created by shelf_token")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        _token, raw = token_create(user=user, name=name)
        self.stdout.write(raw)
