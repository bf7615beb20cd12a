from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "opencem.metrics"
    label = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from opencem.feedback.changes import register_change_hook
        from opencem.metrics.rollups import rollup_statements, rollups_apply

        # Every response write updates the rollups in its own transaction (or statement).
        register_change_hook("metrics.rollups", rollups_apply, planner=rollup_statements)
