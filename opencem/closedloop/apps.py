from django.apps import AppConfig


class ClosedLoopConfig(AppConfig):
    name = "opencem.closedloop"
    label = "closedloop"
    verbose_name = "Closed loop: alerts and cases"

    def ready(self) -> None:
        from opencem.closedloop import consumer, hooks

        consumer.register()
        hooks.register()
