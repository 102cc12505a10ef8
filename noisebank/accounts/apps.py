from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "noisebank.accounts"
    label = "accounts"
