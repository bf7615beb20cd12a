"""Load the retail/service starter taxonomy (category > theme, with phrase rules)."""

from django.db import migrations


def load(apps, schema_editor):
    from opencem.textanalytics.nlp.starter import STARTER

    Category = apps.get_model("textanalytics", "Category")
    Theme = apps.get_model("textanalytics", "Theme")
    for position, (code, label, themes) in enumerate(STARTER, start=1):
        category, _ = Category.objects.get_or_create(
            code=code, defaults={"label": label, "position": position})
        for theme_code, theme_label, phrases, exclusions in themes:
            Theme.objects.get_or_create(code=theme_code, defaults={
                "category": category, "label": theme_label, "phrases": phrases,
                "exclusions": exclusions})


def unload(apps, schema_editor):
    from opencem.textanalytics.nlp.starter import STARTER

    Theme = apps.get_model("textanalytics", "Theme")
    Category = apps.get_model("textanalytics", "Category")
    codes = [code for _, _, themes in STARTER for code, *_ in themes]
    Theme.objects.filter(code__in=codes, mentions__isnull=True).delete()
    Category.objects.filter(code__in=[c for c, *_ in STARTER], themes__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("textanalytics", "0001_analysis_and_taxonomy")]
    operations = [migrations.RunPython(load, unload)]
