from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "noisebank.curation"
    verbose_name = "Curation: reviews, bulk changes, audit log"
