from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opencem.accounts"
    label = "accounts"
    verbose_name = "Accounts and organisation"
