from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "opencem.core"
    label = "core"
    verbose_name = "Core"
