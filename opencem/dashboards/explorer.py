"""The analyst explorer's question and its answer as a table: the same rows on the page, in
the chart, and in the CSV and XLSX exports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from opencem.accounts.selectors import Scope
from opencem.customers.choices import Channel
from opencem.metrics.selectors import (
    Dimension,
    MetricFilters,
    MetricGroup,
    MetricSeries,
    metric_series,
)
from opencem.surveys.selectors import surveys_answered

SUPPRESSED_NOTE = "fewer than {k} responses"


@dataclass(frozen=True)
class ExplorerQuestion:
    """What the analyst asked: a metric, up to two groupings, filters and a comparison."""

    metric: str
    group_by: tuple[str, ...] = ()
    filters: MetricFilters = field(default_factory=MetricFilters)
    compare: str | None = None


@dataclass(frozen=True)
class ExplorerTable:
    """The answer: the series, and for each group the text of each of its dimensions."""

    series: MetricSeries
    labels: list[list[str]]

    @property
    def dimension_names(self) -> list[str]:
        return [_DIMENSION_NAMES[d] for d in self.series.group_by]

    @property
    def rows(self) -> list[tuple[list[str], MetricGroup]]:
        return list(zip(self.labels, self.series.groups, strict=True))

    def header(self) -> list[str]:
        """Column names of the exports."""
        names = [*self.dimension_names, self.series.label, "n", "95% low", "95% high",
                 "small sample", "note"]
        if self.series.compare is not None:
            names += ["compared with", "baseline value", "baseline n", "target", "difference",
                      "difference low", "difference high", "p value", "significant"]
        return names

    def export_rows(self) -> list[list[object]]:
        """One list of cells per group, in the order of ``header``: numbers as numbers, text
        as text (neutralised by the writers), a suppressed group without any figure."""
        note = SUPPRESSED_NOTE.format(k=self.series.k)
        out: list[list[object]] = []
        for labels, group in self.rows:
            e = group.estimate
            row: list[object] = [*labels, e.value, e.n, e.low, e.high,
                                 "yes" if e.small_sample else "no",
                                 note if e.suppressed else ""]
            if self.series.compare is not None:
                c, b = group.comparison, group.baseline
                row += [self.series.compare.value,
                        None if b is None else b.value, None if b is None else b.n,
                        group.target,
                        None if c is None else c.difference, None if c is None else c.low,
                        None if c is None else c.high, None if c is None else c.p_value,
                        "" if c is None else "yes" if c.significant else "no"]
            out.append(row)
        return out


_DIMENSION_NAMES = {
    Dimension.DAY: "day", Dimension.WEEK: "week (from Monday)", Dimension.MONTH: "month",
    Dimension.QUARTER: "quarter", Dimension.UNIT: "unit", Dimension.TOUCHPOINT: "touchpoint",
    Dimension.CHANNEL: "channel", Dimension.SURVEY: "survey", Dimension.ATTRIBUTE: "attribute",
    Dimension.THEME: "theme", Dimension.SENTIMENT: "comment sentiment",
}


def _period_label(dim: Dimension, day: date) -> str:
    if dim == Dimension.MONTH:
        return f"{day:%Y-%m}"
    if dim == Dimension.QUARTER:
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    return day.isoformat()


def _labels(series: MetricSeries, survey_names: dict[int, str]) -> list[list[str]]:
    channels = dict(Channel.choices)
    labels = []
    for group in series.groups:
        texts = []
        for dim, value in zip(series.group_by, group.key, strict=True):
            if value is None or value == "":
                texts.append("(none)")
            elif dim == Dimension.UNIT:
                unit = group.unit
                texts.append(f"{unit.name} ({unit.code})" if unit is not None else str(value))
            elif isinstance(value, date):
                texts.append(_period_label(dim, value))
            elif dim == Dimension.SURVEY:
                texts.append(survey_names.get(int(value), f"Survey {value}"))
            elif dim == Dimension.CHANNEL:
                texts.append(str(channels.get(str(value), value)))
            else:
                texts.append(str(value))
        labels.append(texts)
    return labels


def explorer_table(*, scope: Scope, question: ExplorerQuestion) -> ExplorerTable:
    """Ask the metrics engine the question (scope and anonymity applied there) and label its
    groups for people."""
    series = metric_series(scope=scope, metric=question.metric, group_by=question.group_by,
                           filters=question.filters, compare=question.compare)
    names: dict[int, str] = {}
    if Dimension.SURVEY in series.group_by:
        ids = {int(g.key[series.group_by.index(Dimension.SURVEY)]) for g in series.groups
               if g.key[series.group_by.index(Dimension.SURVEY)] is not None}
        names = dict(surveys_answered(scope=scope).filter(pk__in=ids).values_list("id", "name"))
    return ExplorerTable(series, _labels(series, names))


def filename(question: ExplorerQuestion, series: MetricSeries, extension: str) -> str:
    """A file name that says what the export holds (only safe characters)."""
    parts: Sequence[Any] = (question.metric, *question.group_by, series.root.code,
                            series.start.isoformat(), series.end.isoformat())
    text = "-".join(str(p) for p in parts)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
    return f"{safe}.{extension}"
