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


def test_inserted_objects_are_saved_as_bulk_create_leaves_them():
    from opencem.core.models import OutboxConsumption  # noqa: PLC0415
    from opencem.core.statements import insert_objects  # noqa: PLC0415

    events = insert_objects([OutboxEvent(topic=f"t.{i}", payload={"i": i, "s": "<é>"})
                             for i in range(3)])
    assert [e.pk for e in events] == sorted(e.pk for e in events)
    assert all(not e._state.adding and e.created_at is not None for e in events)
    stored = {e.pk: (e.topic, e.payload, e.created_at, e.attempts)
              for e in OutboxEvent.objects.all()}
    assert stored == {e.pk: (e.topic, e.payload, e.created_at, 0) for e in events}
    # A related instance given by object is written by its id.
    (mark,) = insert_objects([OutboxConsumption(event=events[0], consumer="c")])
    assert OutboxConsumption.objects.get(pk=mark.pk).event_id == events[0].pk
    assert insert_objects([]) == []
    with pytest.raises(TypeError):
        insert_objects([OutboxEvent(topic="t", payload={}), mark])
    with pytest.raises(TypeError):  # already saved
        insert_objects([events[0]])


def test_many_objects_go_in_several_inserts(monkeypatch):
    from opencem.core import statements  # noqa: PLC0415

    monkeypatch.setattr(statements, "MAX_PARAMS", 12)
    events = statements.insert_objects([OutboxEvent(topic=f"t.{i}", payload={})
                                        for i in range(7)])
    assert sorted(OutboxEvent.objects.values_list("topic", flat=True)) == sorted(
        e.topic for e in events)
    assert len({e.pk for e in events}) == 7
