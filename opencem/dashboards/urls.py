"""The dashboards' pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from opencem.dashboards import views, views_explorer, views_settings

urlpatterns: list[URLPattern] = [
    path("dashboards/", views.home, name="dashboard_home"),
    path("dashboards/executive/", views.executive, name="dashboard_executive"),
    path("dashboards/manager/", views.manager, name="dashboard_manager"),
    path("dashboards/manager/perception/", views.perception_record,
         name="dashboard_perception_record"),
    path("dashboards/manager/perception/<int:estimate_id>/delete/", views.perception_delete,
         name="dashboard_perception_delete"),
    path("dashboards/agent/", views.agent, name="dashboard_agent"),
    path("dashboards/explorer/", views_explorer.explorer, name="dashboard_explorer"),
    path("dashboards/explorer/export.csv", views_explorer.explorer_csv,
         name="dashboard_explorer_csv"),
    path("dashboards/explorer/export.xlsx", views_explorer.explorer_xlsx,
         name="dashboard_explorer_xlsx"),
    path("dashboards/summary/", views_explorer.summary, name="dashboard_summary"),
    path("dashboards/settings/", views_settings.settings_page, name="dashboard_settings"),
    path("dashboards/settings/targets/", views_settings.target_set,
         name="dashboard_target_set"),
    path("dashboards/settings/targets/clear/", views_settings.target_clear,
         name="dashboard_target_clear"),
    path("dashboards/settings/anonymity/", views_settings.anonymity_set,
         name="dashboard_anonymity_set"),
    path("dashboards/settings/digest/", views_settings.digest_set, name="dashboard_digest_set"),
]
