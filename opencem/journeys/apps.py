from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "opencem.journeys"
    label = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from opencem.journeys import hooks

        hooks.register()
