from typing import Any

from django.apps import AppConfig


def _sentiment() -> Any:
    from django.db.models import OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from opencem.textanalytics.models import Analysis

    # The sentiment of the response's first analysed comment ("" when it has none).
    first = (Analysis.objects.filter(feedback__response_id=OuterRef("pk"))
             .order_by("feedback_id").values("sentiment")[:1])
    return Coalesce(Subquery(first), Value(""))


def _theme() -> Any:
    from django.db.models import CharField, F, Value
    from django.db.models.functions import Coalesce

    return Coalesce(F("feedback_items__analysis__mentions__theme__code"), Value(""),
                    output_field=CharField())


class TextAnalyticsConfig(AppConfig):
    name = "opencem.textanalytics"
    label = "textanalytics"
    verbose_name = "Text analytics"

    def ready(self) -> None:
        from opencem.feedback.privacy import register_redactor
        from opencem.metrics.selectors import Dimension, register_dimension
        from opencem.textanalytics.nlp.pii import redact

        # Items not analysed yet are redacted on the fly for readers without PII rights.
        register_redactor(lambda text: redact(text)[0])
        # Metrics group responses by what their comments say; a response whose comments
        # mention two themes counts once under each.
        register_dimension(Dimension.SENTIMENT, expression=_sentiment)
        register_dimension(Dimension.THEME, expression=_theme, many=True)
