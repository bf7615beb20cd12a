from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "opencem.customers"
    label = "customers"
    verbose_name = "Customer hub"

    def ready(self) -> None:
        # Importing timeline registers the built-in sources.
        from opencem.customers import importing, timeline  # noqa: F401

        importing.register()
