"""Rows written with raw SQL get what the ORM would give them, and the parts of one statement
run in the order they were added."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from opencem.core.models import OutboxEvent
from opencem.core.statements import Expr, OneStatement, fetch, insert_sql

pytestmark = pytest.mark.django_db


def test_a_row_inserted_with_sql_gets_the_orms_defaults_and_times():
    sql, params = insert_sql(OutboxEvent, [{"topic": "t.one", "payload": {"a": [1, "<b>"]}}],
                             returning=("id",))
    (event_id,), = fetch(sql, params)
    event = OutboxEvent.objects.get(pk=event_id)
    assert event.payload == {"a": [1, "<b>"]}
    assert (event.attempts, event.dispatched_at) == (0, None)
    assert timezone.now() - event.created_at < timedelta(minutes=1)


def test_rows_are_inserted_in_order_and_an_expression_stands_in_for_a_value():
    sql, params = insert_sql(OutboxEvent, [
        {"topic": "t.first", "payload": {}},
        {"topic": "t.second", "payload": {}, "attempts": Expr("%s + 1", (41,))},
    ], returning=("id", "topic"))
    rows = fetch(sql, params)
    assert [topic for _, topic in sorted(rows)] == ["t.first", "t.second"]
    assert OutboxEvent.objects.get(topic="t.second").attempts == 42


def test_the_parts_of_one_statement_run_in_the_order_they_were_added():
    if connection.vendor != "postgresql":
        pytest.skip("data-modifying WITH clauses are PostgreSQL's")
    statement = OneStatement()
    for topic in ("t.a", "t.b", "t.c", "t.d"):
        statement.add(topic.replace(".", "_"), *insert_sql(
            OutboxEvent, [{"topic": topic, "payload": {}}], returning=("id",)))
    statement.run(result="1")
    assert list(OutboxEvent.objects.order_by("pk").values_list("topic", flat=True)) == [
        "t.a", "t.b", "t.c", "t.d"]


def test_a_statement_run_again_is_prepared_once_per_connection():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    assert fetch("SELECT %s::int + 1", [1]) == [(2,)]
    assert fetch("SELECT %s::int + 1", [2]) == [(3,)]
    prepared = fetch("SELECT count(*) FROM pg_prepared_statements "
                     "WHERE statement = %s", ["SELECT $1::int + 1"])
    assert prepared == [(1,)]
