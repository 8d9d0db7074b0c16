from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "shelf.storage"
    label = "storage"
    verbose_name = "Object storage"
