"""``metric_series``: a metric by any grouping, with n, interval, comparison and anonymity.

The steps, for one question asked by one viewer:

1. Check the question (unknown metric, bad dates, a unit outside the viewer's scope … are
   refused naming the parameter) and settle the answer's root unit.
2. Read counts per group (``sources``): grouped by the dimensions asked for, and also by
   the dimensions used as filters, so that anonymity sees every sibling of a shown group.
3. Lay them out as a cube with margins and hide what anonymity requires (``cube``).
4. Turn the shown groups' counts into estimates; compare each with the previous period, the
   rest of its parent unit or its target.

Dashboards and exports call this directly; the API is a thin layer over it.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.utils import timezone

from opencem.accounts.selectors import Scope, unit_list
from opencem.core.errors import PermissionDenied, invalid
from opencem.customers.choices import Channel
from opencem.metrics.batch import Estimates
from opencem.metrics.cube import Cube, Key, Tree, UnitInfo, build_cube
from opencem.metrics.definitions import Measure, Metric, Source, measure, subtract
from opencem.metrics.models import MetricTarget, OrganisationPolicy
from opencem.metrics.rollups import local_day
from opencem.metrics.scores import (
    Z_95,
    Estimate,
    ProportionCounts,
    ScaleCounts,
    rating,
)
from opencem.metrics.sources import (
    EVERYTHING,
    PLUGGABLE,
    TIME,
    Dimension,
    Selection,
    bucket,
    is_registered,
    month_end,
    previous_bucket,
    read,
    shift_months,
)
from opencem.metrics.stats import Comparison, proportion_vs_target
from opencem.surveys.selectors import surveys_visible, version_definition

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
ATTRIBUTE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
MAX_DIMENSIONS = 3
# Beyond this many groups an answer is no longer something a person reads; it is an export.
MAX_GROUPS = 20_000
MAX_DAYS = 10 * 366


class Compare(StrEnum):
    PREVIOUS = "previous"
    PARENT = "parent"
    TARGET = "target"


@dataclass(frozen=True)
class MetricFilters:
    """Which responses a series counts. ``unit`` is a code and takes its whole subtree;
    ``start``/``end`` are days in the organisation's time zone, both included."""

    unit: str | None = None
    start: date | None = None
    end: date | None = None
    survey: int | None = None
    touchpoint: str | None = None
    channel: str | None = None
    question: str | None = None
    attribute: str | None = None
    attribute_value: str | None = None


@dataclass(frozen=True, slots=True)
class MetricGroup:
    """One group of a series.

    ``key`` holds the value of each grouping dimension, in the order asked for: a unit's code,
    a period's first day, a survey id, a touchpoint, channel or attribute value. ``baseline``
    is what the group was compared with (previous period, rest of the parent) as an estimate
    of its own; ``target`` the target it was compared with.
    """

    key: tuple[Any, ...]
    estimate: Estimate
    unit: UnitInfo | None = None
    comparison: Comparison | None = None
    baseline: Estimate | None = None
    target: float | None = None
    distribution: Mapping[int, Estimate] | None = None


Outcome = tuple[Comparison | None, Estimate | None, float | None]


@dataclass(frozen=True)
class MetricSeries:
    """A metric for every group of one question, ready to show.

    The groups are held as columns, one entry per group in order: ``keys`` (as in
    ``MetricGroup.key``), ``estimates``, and where they apply ``units`` (grouped by unit),
    ``outcomes`` (comparison, baseline, target; when compared) and ``distributions``
    (ratings). An answer may hold thousands of groups and the API writes them out from the
    columns; ``groups`` makes them ``MetricGroup`` objects for callers that want those.
    """

    metric: Metric
    label: str
    unit_of_measure: str
    root: UnitInfo
    start: date
    end: date
    group_by: tuple[Dimension, ...]
    compare: Compare | None
    k: int
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    estimates: Estimates = field(default_factory=Estimates)
    units: list[UnitInfo] | None = None
    outcomes: list[Outcome] | None = None
    distributions: list[Mapping[int, Estimate] | None] | None = None

    @cached_property
    def groups(self) -> list[MetricGroup]:
        """The groups as objects, built once on first use."""
        nothing: Outcome = (None, None, None)
        return [MetricGroup(key, self.estimates.at(i),
                            None if self.units is None else self.units[i],
                            *(nothing if self.outcomes is None else self.outcomes[i]),
                            None if self.distributions is None else self.distributions[i])
                for i, key in enumerate(self.keys)]


# --- checking the question --------------------------------------------------------------------


def _parse_enum(kind: type[StrEnum], value: Any, loc: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise invalid([loc], f"must be one of {', '.join(m.value for m in kind)}") from None


def _dimensions(group_by: Sequence[str | Dimension]) -> tuple[Dimension, ...]:
    dims = tuple(_parse_enum(Dimension, d, "group_by") for d in group_by)
    if len(set(dims)) != len(dims):
        raise invalid(["group_by"], "names a dimension twice")
    if sum(d in TIME for d in dims) > 1:
        raise invalid(["group_by"], "may hold one of day, week, month, quarter")
    if len(dims) > MAX_DIMENSIONS:
        raise invalid(["group_by"], f"may combine at most {MAX_DIMENSIONS} dimensions")
    return dims


def _units(root_path: str) -> list[UnitInfo]:
    return [UnitInfo(u["id"], u["code"], u["name"], u["parent_id"], u["path"], u["depth"])
            for u in unit_list(scope=EVERYTHING).filter(path__startswith=root_path)
            .values("id", "code", "name", "parent_id", "path", "depth")]


def _root_unit(scope: Scope, code: str | None) -> tuple[UnitInfo, list[UnitInfo]]:
    """The unit the answer is about (the one named, or the one the viewer's scope is), and
    every unit of its organisation."""
    every = unit_list(scope=EVERYTHING)
    if code:
        row = every.filter(code=code).values("id", "path").first()
        if row is None:
            raise invalid(["unit"], f"no unit has the code {code!r}")
        if not scope.sees_unit(row["id"]):
            raise PermissionDenied(f"unit {code!r} is outside your scope", loc=["unit"])
    else:
        if scope.unit_ids is None:
            tops = list(every.filter(parent__isnull=True).values("id", "path", "code"))
        else:
            visible = every.filter(id__in=scope.unit_ids).values("id", "path", "code",
                                                                 "parent_id")
            tops = [u for u in visible if u["parent_id"] not in scope.unit_ids]
        if len(tops) != 1:
            if not tops:
                raise PermissionDenied("your scope covers no unit", loc=["unit"])
            codes = ", ".join(sorted(u["code"] for u in tops))
            raise invalid(["unit"], f"is required: you see several units ({codes})")
        row = tops[0]
    organisation = "/" + row["path"].strip("/").split("/")[0] + "/"
    units = _units(organisation)
    return next(u for u in units if u.id == row["id"]), units


def _range(start: date | None, end: date | None) -> tuple[date, date]:
    today = local_day(timezone.now())
    end = end or today
    # By default the twelve calendar months up to and including this one.
    start = start or shift_months(end.replace(day=1), -11)
    if start > end:
        raise invalid(["from"], "must not be after 'to'")
    if (end - start).days >= MAX_DAYS:
        raise invalid(["from"], "the range may span at most ten years")
    return start, end


def anonymity_k(organisation_id: int) -> int:
    """The threshold k in force for an organisation: the setting, or its own higher one."""
    floor = int(settings.OPENCEM_ANONYMITY_K)
    own = (OrganisationPolicy.objects.filter(organisation_id=organisation_id)
           .values_list("anonymity_k", flat=True).first())
    return max(floor, own or 0)


@dataclass(frozen=True)
class _Plan:
    """The checked question: what to read and how to lay it out."""

    measure: Measure
    dims: tuple[Dimension, ...]  # requested (unit excluded) + filter dimensions
    shown_dims: int  # how many of dims were asked for; the rest are filters
    fixed: tuple[Any, ...]  # the filter values, one per filter dimension
    tree: Tree
    selection: Selection
    k: int


def _rating_scale(filters: MetricFilters) -> tuple[tuple[int, int], tuple[int, ...]]:
    """The scale of a rating question across the versions of its survey that ask it."""
    if filters.survey is None:
        raise invalid(["survey"], "is required for the rating metric")
    if not filters.question:
        raise invalid(["question"], "is required for the rating metric")
    survey = surveys_visible(scope=EVERYTHING).filter(pk=filters.survey).first()
    if survey is None:
        raise invalid(["survey"], f"no survey has the id {filters.survey}")
    lows, highs, version_ids = [], [], []
    for version in survey.versions.filter(published_at__isnull=False):
        for question in version_definition(version).questions:
            if question.id == filters.question and question.type == "rating":
                lows.append(question.min)
                highs.append(question.max)
                version_ids.append(version.pk)
    if not version_ids:
        raise invalid(["question"], f"survey {filters.survey} has no rating question "
                                    f"{filters.question!r}")
    return (min(lows), max(highs)), tuple(version_ids)


def _check(metric: Metric, the_measure: Measure, group_by: tuple[Dimension, ...],
           filters: MetricFilters, compare: Compare | None) -> None:
    """Refuse filters and combinations the metric cannot answer, naming the parameter."""
    if metric != Metric.RATING and filters.question:
        raise invalid(["question"], "only applies to the rating metric")
    if filters.touchpoint is not None and not SLUG_RE.match(filters.touchpoint):
        raise invalid(["touchpoint"], "must be a lower-case slug (letters, digits, _ . -)")
    if filters.channel is not None and filters.channel not in Channel.values:
        raise invalid(["channel"], f"must be one of {', '.join(Channel.values)}")
    if filters.attribute is not None and not ATTRIBUTE_RE.match(filters.attribute):
        raise invalid(["attribute"], "must be a customer attribute name (letters, digits, _ . -)")
    if filters.attribute_value is not None and filters.attribute is None:
        raise invalid(["attribute_value"], "needs 'attribute' to name the attribute")
    if Dimension.ATTRIBUTE in group_by and filters.attribute is None:
        raise invalid(["attribute"], "is required to group by attribute")
    _check_pluggable(the_measure, group_by)
    if filters.survey is not None and metric != Metric.RATING and not surveys_visible(
            scope=EVERYTHING).filter(pk=filters.survey).exists():
        raise invalid(["survey"], f"no survey has the id {filters.survey}")
    if the_measure.source == Source.INVITATIONS:
        if Dimension.CHANNEL in group_by or filters.channel is not None:
            raise invalid(["channel"], "invitations have no channel of contact; the response "
                                       "rate cannot be grouped or filtered by it")
        if Dimension.ATTRIBUTE in group_by or filters.attribute is not None:
            raise invalid(["attribute"], "the response rate is not broken down by customer "
                                         "attribute")
    if (compare == Compare.TARGET and the_measure.target_range is None) or (
            compare == Compare.TARGET and metric == Metric.RATING):
        raise invalid(["compare"], f"{metric.value} has no targets")
    if compare == Compare.PARENT and metric == Metric.VOLUME:
        raise invalid(["compare"], "volume is compared with the previous period only")


def _check_pluggable(the_measure: Measure, group_by: tuple[Dimension, ...]) -> None:
    """Dimensions other apps provide exist only once registered, and only for responses."""
    for dim in group_by:
        if dim in PLUGGABLE and not is_registered(dim):
            raise invalid(["group_by"], f"{dim.value} needs text analytics, which is not "
                                        "installed")
        if dim in PLUGGABLE and the_measure.source == Source.INVITATIONS:
            raise invalid(["group_by"], f"the response rate is not broken down by {dim.value}")


def _plan(scope: Scope, metric: Metric, group_by: tuple[Dimension, ...],
          filters: MetricFilters, compare: Compare | None, *, start: date,
          end: date) -> _Plan:
    scale: tuple[int, int] | None = None
    version_ids: tuple[int, ...] = ()
    if metric == Metric.RATING:
        scale, version_ids = _rating_scale(filters)
    the_measure = measure(metric, scale=scale)
    _check(metric, the_measure, group_by, filters, compare)
    root, units = _root_unit(scope, filters.unit)
    organisation = "/" + root.path.strip("/").split("/")[0] + "/"
    tree = Tree.build(units, root.id, expand=Dimension.UNIT in group_by)
    # Filters become dimensions too (see the module docstring), except the survey of a rating,
    # whose question belongs to that survey alone.
    asked = tuple(d for d in group_by if d != Dimension.UNIT)
    extra: list[tuple[Dimension, Any]] = []
    if filters.survey is not None and metric != Metric.RATING and Dimension.SURVEY not in asked:
        extra.append((Dimension.SURVEY, filters.survey))
    for dim, value in ((Dimension.TOUCHPOINT, filters.touchpoint),
                       (Dimension.CHANNEL, filters.channel),
                       (Dimension.ATTRIBUTE, filters.attribute_value)):
        if value is not None and dim not in asked:
            extra.append((dim, value))
    dims = (*asked, *(d for d, _ in extra))
    single = unit_list(scope=EVERYTHING).filter(parent__isnull=True).count() == 1
    selection = Selection(
        measure=the_measure, dims=dims, start=start, end=end,
        survey_id=filters.survey if metric == Metric.RATING else None,
        question=filters.question or "", attribute=filters.attribute or "",
        version_ids=version_ids,
        organisation_unit_ids=None if single else tuple(u.id for u in units))
    # Volume is a count of responses, not a figure about them: it is never suppressed.
    k = 0 if metric == Metric.VOLUME else anonymity_k(int(organisation.strip("/")))
    return _Plan(the_measure, dims, len(asked), tuple(v for _, v in extra), tree, selection, k)


# --- building the answer ----------------------------------------------------------------------


def _cube(plan: _Plan, start: date, end: date
          ) -> tuple[Cube, dict[Key, tuple[int, ...]]]:
    """The cube of one range and the counts of its cells (each node's whole subtree)."""
    rows = read(replace(plan.selection, start=start, end=end), plan.tree)
    if len(rows) > 10 * MAX_GROUPS:
        raise invalid(["group_by"], f"asks for more than {MAX_GROUPS:,} groups; narrow the "
                                    "range, the unit or the grouping")
    counts = rows
    n_of = plan.measure.n
    n = {key: n_of(found) for key, found in counts.items()}
    return build_cube(n, plan.tree, len(plan.dims), plan.k), counts


def _shown(plan: _Plan, cube: Cube, counts: Mapping[Key, tuple[int, ...]]) -> list[Key]:
    """The cells the answer lists: shown units, requested values, the filters' values.

    These are cells the rows counted (margins hold ``ALL`` in some dimension, which no
    listed cell does), so only those are looked at.
    """
    shown = set(plan.tree.shown)
    n = cube.n
    if not plan.fixed:
        return [key for key in counts if key[0] in shown and n[key]]
    fixed, cut = plan.fixed, 1 + plan.shown_dims
    return [key for key in counts if key[0] in shown and n[key] and key[cut:] == fixed]


def _time_index(plan: _Plan) -> int | None:
    for i, dim in enumerate(plan.dims[:plan.shown_dims]):
        if dim in TIME:
            return i + 1
    return None


def _days(first: date, last: date) -> int:
    return (last - first).days + 1


def _bucket_days(b: date, dim: Dimension, start: date, end: date) -> int:
    """Days of bucket ``b`` that fall inside start..end."""
    if dim == Dimension.DAY:
        stop = b
    elif dim == Dimension.WEEK:
        stop = b + timedelta(days=6)
    elif dim == Dimension.MONTH:
        stop = month_end(b)
    else:
        stop = month_end(shift_months(b, 2))
    return max(0, _days(max(b, start), min(stop, end)))


def _volume_change(a: int, b: int, days_a: int, days_b: int, k: int) -> Comparison | None:
    """Responses in one period against another: under "same daily rate" each of the a + b
    responses fell in the first period with probability days_a / (days_a + days_b)."""
    if a + b == 0 or days_a + days_b == 0:
        return None
    share = 100.0 * days_a / (days_a + days_b)
    result = proportion_vs_target(ProportionCounts(a, a + b), share, k=k)
    if result is None:
        return None
    difference = float(a - b)
    half = Z_95 * (a + b) ** 0.5
    return Comparison(difference, difference - half, difference + half, result.statistic,
                      result.p_value, result.significant)


def _previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before: whole months by months, else by days."""
    if start.day == 1 and end == month_end(end):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        return shift_months(start, -months), start - timedelta(days=1)
    length = _days(start, end)
    return start - timedelta(days=length), start - timedelta(days=1)


def _targets(metric: Metric, tree: Tree) -> dict[int, float]:
    rows = MetricTarget.objects.filter(metric=metric.value, unit_id__in=list(tree.nodes))
    return dict(rows.values_list("unit_id", "value"))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while thousands of groups are built.

    The groups hold no reference cycles, so nothing is left uncollected; without the pause,
    their allocations set off full collections that walk the whole process heap and cost
    more than the answer itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def metric_series(*, scope: Scope, metric: Metric | str,
                  group_by: Sequence[Dimension | str] = (),
                  filters: MetricFilters | None = None,
                  compare: Compare | str | None = None) -> MetricSeries:
    """The metric for every group asked for, each with n, a 95% interval, its comparison
    and the anonymity rules applied (see the module docstring)."""
    with collector_paused():
        return _series(scope, metric, group_by, filters or MetricFilters(), compare)


def _series(scope: Scope, metric: Metric | str, group_by: Sequence[Dimension | str],
            filters: MetricFilters, compare: Compare | str | None) -> MetricSeries:
    the_metric: Metric = _parse_enum(Metric, metric, "metric")
    dims = _dimensions(group_by)
    how: Compare | None = None if compare in (None, "") else _parse_enum(
        Compare, compare, "compare")
    start, end = _range(filters.start, filters.end)
    plan = _plan(scope, the_metric, dims, filters, how, start=start, end=end)
    cube, counts = _cube(plan, start, end)
    cells = _shown(plan, cube, counts)
    if len(cells) > MAX_GROUPS:
        raise invalid(["group_by"], f"asks for {len(cells):,} groups, more than "
                                    f"{MAX_GROUPS:,}; narrow the range, the unit or the grouping")
    comparisons = _compare(scope, plan, how, cube, counts=counts, cells=cells, start=start,
                           end=end)
    keys, public = _ordered(plan, cells, dims)
    measure_, k = plan.measure, plan.k
    found = [counts[key] for key in keys]
    # Every figure at once (see ``batch``); then the groups anonymity hides for fear of
    # subtraction, though each has k respondents or more, keep their n alone.
    hidden = cube.hidden
    estimates = measure_.estimates(found, k).hiding(
        [i for i, key in enumerate(keys) if key in hidden])
    units = [plan.tree.units[key[0]] for key in keys] if Dimension.UNIT in dims else None
    outcomes = None
    if how is not None:
        nothing: Outcome = (None, None, None)
        outcomes = [comparisons.get(key, nothing) for key in keys]
    distributions: list[Mapping[int, Estimate] | None] | None = None
    if the_metric == Metric.RATING:
        # A rating's bins are its points: the counts are the whole distribution.
        assert measure_.scale is not None
        low, high = measure_.scale
        distributions = [None if suppressed else rating(ScaleCounts(low, high, c),
                                                        k=k).distribution
                         for c, suppressed in zip(found, estimates.suppressed, strict=True)]
    return MetricSeries(the_metric, measure_.label, measure_.unit_of_measure, plan.tree.root,
                        start, end, dims, how, k, public, estimates, units, outcomes,
                        distributions)


def _ordered(plan: _Plan, cells: list[Key], dims: tuple[Dimension, ...]
             ) -> tuple[list[Key], list[tuple[Any, ...]]]:
    """The cells in the order of the dimensions asked for (units in tree order), and each
    one's public key (unit codes, period days …) in that order.

    Each dimension's values are of one type (dates, ids or text), so they sort as they are.
    """
    position = {node: i for i, node in enumerate(plan.tree.shown)}
    codes = {node: plan.tree.units[node].code for node in plan.tree.shown}
    # A cell is (node, dims of the plan …); the answer's key takes them in the asked order.
    index = [0 if dim == Dimension.UNIT else plan.dims.index(dim) + 1 for dim in dims]
    # One stable sort per dimension, the last asked for first: the order of the whole keys,
    # without building a sort key per cell.
    ordered = list(cells)
    for i in reversed(index):
        ordered.sort(key=itemgetter(i) if i else lambda key: position[key[0]])
    if index == list(range(1 + len(plan.dims))):
        # The unit, then every dimension as the plan holds them (no filters).
        return ordered, [(codes[key[0]], *key[1:]) for key in ordered]
    arrange: Callable[[Key], tuple[Any, ...]]
    if len(index) > 1:
        arrange = itemgetter(*index)
    else:
        arrange = itemgetter(slice(index[0], index[0] + 1) if index else slice(0, 0))
    return ordered, [arrange((codes[key[0]], *key[1:])) for key in ordered]


def _compare(scope: Scope, plan: _Plan, how: Compare | None, cube: Cube, *,
             counts: dict[Key, tuple[int, ...]], cells: list[Key], start: date,
             end: date) -> dict[Key, Outcome]:
    if how is None:
        return {}
    measure_, k = plan.measure, plan.k
    found: dict[Key, Outcome] = {}
    if how == Compare.TARGET:
        targets = _targets(measure_.metric, plan.tree)
        for key in cells:
            target = next((targets[u] for u in plan.tree.lineage(key[0]) if u in targets), None)
            if target is None or not cube.visible(key) or measure_.versus_target is None:
                found[key] = (None, None, target)
                continue
            found[key] = (measure_.versus_target(counts[key], target, k), None, target)
        return found
    if how == Compare.PARENT:
        for key in cells:
            parent = plan.tree.nodes[key[0]]
            if parent is None or not scope.sees_unit(parent):
                continue
            parent_key = (parent, *key[1:])
            if not (cube.visible(key) and cube.visible(parent_key)) or measure_.compare is None:
                continue
            rest = subtract(counts[parent_key], counts[key])
            found[key] = (measure_.compare(counts[key], rest, k), measure_.estimate(rest, k),
                          None)
        return found
    return _compare_previous(plan, cube, counts=counts, cells=cells, start=start, end=end)


def _compare_previous(plan: _Plan, cube: Cube, *, counts: dict[Key, tuple[int, ...]],
                      cells: list[Key], start: date, end: date) -> dict[Key, Outcome]:
    measure_, k = plan.measure, plan.k
    at = _time_index(plan)
    if at is None:
        before_start, before_end = _previous_period(start, end)
        days_now, days_before = _days(start, end), _days(before_start, before_end)
        other, other_counts = _cube(plan, before_start, before_end)
        lookups = {key: (other, key) for key in cells}
    else:
        dim = plan.dims[at - 1]
        before_start = previous_bucket(bucket(start, dim), dim)
        before_end = end
        other, other_counts = _cube(plan, before_start, before_end)
        lookups = {}
        for key in cells:
            previous = (*key[:at], previous_bucket(key[at], dim), *key[at + 1:])
            lookups[key] = (cube if previous[at] >= start else other, previous)
    found: dict[Key, Outcome] = {}
    for key, (source, previous) in lookups.items():
        if not (cube.visible(key) and source.visible(previous)):
            continue
        mine = counts[key]
        theirs = (counts if source is cube else other_counts).get(previous)
        if theirs is None:
            continue
        if measure_.metric == Metric.VOLUME:
            if at is None:
                span = (days_now, days_before)
            else:
                dim = plan.dims[at - 1]
                span = (_bucket_days(key[at], dim, start, end),
                        _bucket_days(previous[at], dim, before_start, end))
            comparison = _volume_change(mine[0], theirs[0], *span, k)
        else:
            assert measure_.compare is not None
            comparison = measure_.compare(mine, theirs, k)
        found[key] = (comparison, measure_.estimate(theirs, k), None)
    return found
