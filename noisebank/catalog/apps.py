from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "noisebank.catalog"
    label = "catalog"
