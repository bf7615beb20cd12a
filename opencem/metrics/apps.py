from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "opencem.metrics"
    label = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from opencem.core.relay import register_after_drain
        from opencem.feedback.changes import register_change_hook
        from opencem.metrics.rollups import pending_statements, rollups_apply, rollups_fold

        # Every response write updates the rollups in its own transaction, except one written
        # in one statement: that leaves its counts pending, for the relay to fold in.
        register_change_hook("metrics.rollups", rollups_apply, planner=pending_statements)
        register_after_drain("metrics.rollups_fold", rollups_fold)
