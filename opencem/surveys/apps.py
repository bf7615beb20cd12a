from __future__ import annotations

from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "opencem.surveys"
    label = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        # Imported here: the hooks need the app registry, and customers must not import
        # surveys (it sits below it), so surveys registers itself.
        from opencem.customers.hooks import register_ingest_hook, register_merge_hook
        from opencem.surveys import importing
        from opencem.surveys.distribution import customer_merge_move
        from opencem.surveys.tasks import enqueue_trigger_evaluation

        register_ingest_hook("surveys.triggers", enqueue_trigger_evaluation)
        register_merge_hook("survey_invitations", customer_merge_move)
        importing.register()
