from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "opencem.customers"
    label = "customers"
    verbose_name = "Customer hub"

    def ready(self) -> None:
        from opencem.customers import timeline  # noqa: F401  (registers the built-in sources)
