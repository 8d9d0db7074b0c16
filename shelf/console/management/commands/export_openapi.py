import json

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the API's OpenAPI document (committed as docs/openapi.json and checked by the tests)."

    def handle(self, *args, **options):
        from shelf.api import api

        schema = api.get_openapi_schema(path_prefix="/api/v1/")
        self.stdout.write(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True))
