from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "opencem.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"
