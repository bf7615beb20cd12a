from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "opencem.feedback"
    label = "feedback"
    verbose_name = "Responses and feedback"

    def ready(self) -> None:
        from opencem.feedback import hooks, importing

        hooks.register()
        importing.register()
