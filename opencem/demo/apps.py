from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "opencem.demo"
    label = "demo"
    verbose_name = "Demo company"
