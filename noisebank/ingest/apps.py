from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "noisebank.ingest"
    label = "ingest"
