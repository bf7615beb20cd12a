from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from opencem.settings.base import _database
from opencem.settings.env import envbool, envint, envlist


def test_envbool_refuses_unknown_spellings(monkeypatch):
    monkeypatch.setenv("X_FLAG", "flase")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        envbool("X_FLAG", False)
    monkeypatch.setenv("X_FLAG", "Yes")
    assert envbool("X_FLAG", False) is True


def test_envint_refuses_text_and_values_below_minimum(monkeypatch):
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured):
        envint("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        envint("X_NUM", 5, minimum=1)
    monkeypatch.delenv("X_NUM")
    assert envint("X_NUM", 5) == 5


def test_envlist_splits_and_strips(monkeypatch):
    monkeypatch.setenv("X_LIST", " a, b ,,c")
    assert envlist("X_LIST", []) == ["a", "b", "c"]


def _start_production(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    clean.update(DJANGO_SETTINGS_MODULE="opencem.settings.production", **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=clean, capture_output=True, text=True, timeout=60, check=False)


def test_production_refuses_to_start_without_a_secret_key():
    result = _start_production()
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_with_debug_on():
    result = _start_production(SECRET_KEY="x" * 50, DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_starts_with_a_secret_and_debug_off():
    result = _start_production(SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr


def test_postgresql_prepares_statements_unless_told_not_to_and_keeps_the_urls_options(
        monkeypatch):
    url = "postgres://u@db:5432/opencem?sslmode=require"
    assert _database(url)["OPTIONS"] == {"sslmode": "require", "prepare_threshold": 0}
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    assert _database(url)["OPTIONS"] == {"sslmode": "require"}
    assert "prepare_threshold" not in _database("sqlite:///x.sqlite3")["OPTIONS"]
