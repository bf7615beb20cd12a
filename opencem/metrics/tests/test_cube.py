"""The cube hides the same groups whether or not it takes the short way (``nothing_to_hide``):
an answer that skips laying out its margins shows exactly what the full suppression shows."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from opencem.metrics.cube import (
    Key,
    Tree,
    UnitInfo,
    build_cube,
    lay_out,
    nothing_to_hide,
    suppress,
)

# A company (1) with two regions (2, 3), each with two stores (4, 5 and 6, 7).
PARENTS = {1: None, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3}


def tree() -> Tree:
    def path(unit: int) -> str:
        parent = PARENTS[unit]
        return (path(parent) if parent else "/") + f"{unit}/"
    units = [UnitInfo(u, f"U{u}", f"Unit {u}", p, path(u), path(u).count("/") - 2)
             for u, p in PARENTS.items()]
    return Tree.build(units, 1, expand=True)


def subtree_rows(own: dict[Key, int]) -> dict[Key, int]:
    """Each unit's whole subtree, as the rollup query returns it, from answers recorded at
    each unit itself."""
    rows: dict[Key, int] = {}
    for (unit, *values), count in own.items():
        node: int | None = unit
        while node is not None:
            key = (node, *values)
            rows[key] = rows.get(key, 0) + count
            node = PARENTS[node]
    return rows


# Mostly large groups, with now and then an empty one, a small one, or answers recorded at a
# region itself: both the short way and the full one are taken.
sizes = st.one_of(st.integers(40, 200), st.integers(40, 200), st.just(0), st.integers(1, 9))


@given(st.data(), st.integers(1, 2), st.sampled_from([0, 5, 10]))
def test_the_short_way_hides_what_full_suppression_hides(data: st.DataObject, ndims: int,
                                                         k: int) -> None:
    values = list(itertools.product(range(3), repeat=ndims))
    units = data.draw(st.lists(st.sampled_from(list(PARENTS)), min_size=1, max_size=7,
                               unique=True))
    own = {(unit, *v): data.draw(sizes) for unit in units for v in values
           if unit >= 4 or data.draw(st.booleans())}
    rows = subtree_rows(own)
    the_tree = tree()
    cube = build_cube(rows, the_tree, ndims, k)
    laid_out = lay_out(rows, ndims)
    full = suppress(laid_out, the_tree, ndims, k)
    assert {key for key in rows if not cube.visible(key)} == {key for key in rows
                                                              if key in full}
    if nothing_to_hide(rows, the_tree, k):
        # What the full way hides then, margins included, is empty groups alone.
        assert all(laid_out[key] == 0 for key in full)


def test_a_region_with_a_few_answers_of_its_own_takes_the_full_way() -> None:
    rows = subtree_rows({(4, 0): 50, (5, 0): 60, (2, 0): 3, (6, 0): 70, (7, 0): 80})
    assert not nothing_to_hide(rows, tree(), 5)
    cube = build_cube(rows, tree(), 1, 5)
    # The region's 3 own answers would be its figure minus its stores': one store goes too.
    assert not cube.visible((4, 0))
    assert cube.visible((5, 0))
    assert cube.visible((2, 0))
