from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "noisebank.ops"
    label = "ops"
    verbose_name = "operations"
