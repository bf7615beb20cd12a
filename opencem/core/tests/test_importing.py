"""The import registry: every app's kind is reachable through the one command."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from opencem.core.importing import ImportFailed, ImportOptions, kinds, run_import


def test_every_app_registers_its_kinds_for_the_import_command():
    assert set(kinds()) == {"customers", "interactions", "feedback", "responses"}


def test_the_command_names_the_kinds_it_takes_when_given_another(tmp_path):
    with pytest.raises(CommandError, match=r"invalid choice: 'orders'.*'feedback'"):
        call_command("import_data", "orders", str(tmp_path / "orders.csv"))


def test_an_unknown_kind_is_refused_before_the_file_is_opened(tmp_path):
    with pytest.raises(ImportFailed, match=r"import what\?"):
        run_import(ImportOptions(kind="orders", path=tmp_path / "missing.csv"))
