from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "opencem.integrations"
    label = "integrations"
    verbose_name = "Integrations: outbound webhooks"

    def ready(self) -> None:
        from opencem.integrations import consumer

        consumer.register()
