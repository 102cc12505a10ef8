from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "noisebank.exports"
    label = "exports"
