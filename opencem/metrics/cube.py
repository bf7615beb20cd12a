"""The groups of one answer, their margins, and which of them anonymity lets us show.

An answer is rooted at one unit and grouped by some dimensions (months, channels, …). To
decide what may be shown it is not enough to look at each group alone: a reader who sees a
parent and all but one of its children can subtract. So the groups are laid out as a cube:

- along the unit axis, each unit's figure is its whole subtree and a unit's family is it and
  its direct children (the responses recorded at the unit itself are the remainder);
- along every other axis, each row of groups has a margin, the ``ALL`` cell: the month
  figures of a store add up to the store's figure for the whole range, which the same reader
  can ask for.

Every family — a parent cell and its child cells — follows ``stats.visible_groups``; a hidden
parent hides its children; this is repeated until nothing changes. A unit's visibility is the
same in every answer that contains it, because the families above it (its ancestors and their
children, collapsed into one node per child) are part of every cube rooted at or below it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from opencem.metrics.stats import visible_groups


class _All:
    """The margin of an axis: every value at once."""

    _instance: _All | None = None

    def __new__(cls) -> _All:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ALL"


ALL: Final = _All()

Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """A unit as the metrics need it."""

    id: int
    code: str
    name: str
    parent_id: int | None
    path: str
    depth: int


@dataclass
class Tree:
    """The part of the organisation one answer needs, with whole subtrees collapsed.

    ``nodes`` are the units that keep their own place: the answer's root (with, when the answer
    is grouped by unit, its whole subtree), its ancestors, and the ancestors' other children.
    ``node_of`` maps every unit of the organisation to the node that stands for it: a unit
    inside a collapsed subtree is counted at the subtree's top.
    """

    root: UnitInfo
    units: dict[int, UnitInfo]
    nodes: dict[int, int | None] = field(default_factory=dict)  # node -> parent node
    node_of: dict[int, int] = field(default_factory=dict)
    shown: list[int] = field(default_factory=list)  # nodes the answer shows, in tree order

    @classmethod
    def build(cls, units: Iterable[UnitInfo], root_id: int, *, expand: bool) -> Tree:
        by_id = {u.id: u for u in units}
        tree = cls(root=by_id[root_id], units=by_id)
        children: dict[int | None, list[UnitInfo]] = {}
        for unit in sorted(by_id.values(), key=lambda u: u.path):
            children.setdefault(unit.parent_id, []).append(unit)
        chain = [int(part) for part in tree.root.path.strip("/").split("/")]

        def collapse(top: UnitInfo, parent: int | None) -> None:
            tree.nodes[top.id] = parent
            for unit in by_id.values():
                if unit.path.startswith(top.path):
                    tree.node_of[unit.id] = top.id

        # Ancestors keep their own responses; each of their children not on the way down
        # is one collapsed node.
        for depth, ancestor_id in enumerate(chain[:-1]):
            tree.nodes[ancestor_id] = chain[depth - 1] if depth else None
            tree.node_of[ancestor_id] = ancestor_id
            for child in children.get(ancestor_id, []):
                if child.id != chain[depth + 1]:
                    collapse(child, ancestor_id)
        root_parent = chain[-2] if len(chain) > 1 else None
        if expand:
            for unit in sorted(by_id.values(), key=lambda u: u.path):
                if unit.path.startswith(tree.root.path):
                    tree.nodes[unit.id] = root_parent if unit.id == root_id else unit.parent_id
                    tree.node_of[unit.id] = unit.id
                    tree.shown.append(unit.id)
        else:
            collapse(tree.root, root_parent)
            tree.shown.append(root_id)
        return tree

    def lineage(self, node: int) -> list[int]:
        """The node and every node above it."""
        found = [node]
        parent = self.nodes[node]
        while parent is not None:
            found.append(parent)
            parent = self.nodes[parent]
        return found


def _sort_key(key: Key) -> tuple[Any, ...]:
    # Keys mix ints, strings, dates and None; order them by type, then value, so that the
    # families are built in the same order on every run (visible_groups breaks ties by it).
    def one(value: Any) -> tuple[int, Any]:
        if value is None:
            return (0, 0)
        if isinstance(value, int):
            return (1, value)
        if isinstance(value, date):
            return (2, value.toordinal())
        return (3, str(value))
    return tuple(one(v) for v in key)


@dataclass
class Cube:
    """n of every cell (with margins, where anonymity needed them) and the cells anonymity
    hides.

    Cells are keyed ``(node, value of dim 1, …)``; a value of ``ALL`` is that axis's margin.
    """

    tree: Tree
    n: dict[Key, int]
    hidden: set[Key]

    def visible(self, key: Key) -> bool:
        return key in self.n and key not in self.hidden


def build_cube(rows: Mapping[Key, int], tree: Tree, ndims: int, k: int) -> Cube:
    """Lay ``rows`` (node, dims…) → n, each node's whole subtree, out as a cube with margins
    and work out what anonymity hides.

    When ``nothing_to_hide`` says so, the answer hides no group with respondents and the
    margins, which only the anonymity families read, are not laid out: the cube holds the
    rows alone.
    """
    if nothing_to_hide(rows, tree, k):
        # Empty groups are hidden as suppress hides them: there is nothing in them to show.
        return Cube(tree, dict(rows), {key for key, count in rows.items() if count < k})
    n = lay_out(rows, ndims)
    return Cube(tree, n, suppress(n, tree, ndims, k))


def nothing_to_hide(rows: Mapping[Key, int], tree: Tree, k: int) -> bool:
    """Whether ``suppress`` would hide no group with respondents, found without laying out
    the cube.

    Empty groups (n = 0) are hidden but change nothing: they add nothing to any sum, and
    their children are empty too. Beyond them, suppress hides nothing exactly when no family
    acts in its first pass. No cell is under k when no row is (a margin adds rows up). A
    family along a dimension has a margin for parent, the sum of its children, so
    subtraction reveals nothing there. A family along the unit axis reveals the parent's own
    responses (recorded at the unit itself); for a margin's family that is the sum of its
    rows' families, each 0 or at least k when theirs are. So the rows' families along the
    unit axis are all there is to look at.
    """
    if any(0 < count < k for count in rows.values()):
        return False
    below: dict[Key, int] = {}
    nodes = tree.nodes
    for key, count in rows.items():
        parent_node = nodes[key[0]]
        if parent_node is not None:
            parent = (parent_node, *key[1:])
            below[parent] = below.get(parent, 0) + count
    return not any(0 < rows[parent] - total < k for parent, total in below.items())


def lay_out(rows: Mapping[Key, int], ndims: int) -> dict[Key, int]:
    """``rows`` with every margin: n of each cell whose values are ``ALL`` in some axes."""
    n: dict[Key, int] = {}
    get = n.get
    # Every mask but the first (no margin: the row's own cell, which comes once).
    masks = [tuple(bool(m >> i & 1) for i in range(ndims)) for m in range(1, 1 << ndims)]
    # Every value combination appears at many nodes: its margins are worked out once.
    margins: dict[Key, list[Key]] = {}
    for key, value in rows.items():
        n[key] = value
        node, rest = key[0], key[1:]
        around = margins.get(rest)
        if around is None:
            around = margins[rest] = [
                tuple(ALL if m else v for m, v in zip(mask, rest, strict=True))
                for mask in masks]
        for margin in around:
            cell = (node, *margin)
            n[cell] = get(cell, 0) + value
    return n


Families = list[dict[Key, list[Key]]]


def _parents(key: Key, tree: Tree, ndims: int) -> list[tuple[int, Key]]:
    """The families ``key`` is a child in: (axis, parent cell), the unit axis first."""
    found = []
    parent_node = tree.nodes[key[0]]
    if parent_node is not None:
        found.append((0, (parent_node, *key[1:])))
    for axis in range(ndims):
        if key[axis + 1] is not ALL:
            found.append((axis + 1, (*key[:axis + 1], ALL, *key[axis + 2:])))
    return found


def _families(n: Mapping[Key, int], tree: Tree, ndims: int, hidden: set[Key]
              ) -> tuple[Families, list[dict[Key, int]]]:
    """Per axis, each parent cell with its child cells (the unit axis first), and the sum of
    its children's n that are not hidden."""
    families: Families = [{} for _ in range(ndims + 1)]
    shown: list[dict[Key, int]] = [{} for _ in range(ndims + 1)]
    # _parents written out: this runs for every cell of the answer.
    nodes, axes = tree.nodes, range(ndims)
    for key, count in n.items():
        add = 0 if key in hidden else count
        parent_node = nodes[key[0]]
        if parent_node is not None:
            parent = (parent_node, *key[1:])
            children = families[0].get(parent)
            if children is None:
                families[0][parent] = [key]
                shown[0][parent] = add
            else:
                children.append(key)
                shown[0][parent] += add
        for axis in axes:
            if key[axis + 1] is ALL:
                continue
            parent = (*key[:axis + 1], ALL, *key[axis + 2:])
            children = families[axis + 1].get(parent)
            if children is None:
                families[axis + 1][parent] = [key]
                shown[axis + 1][parent] = add
            else:
                children.append(key)
                shown[axis + 1][parent] += add
    return families, shown


def suppress(n: Mapping[Key, int], tree: Tree, ndims: int, k: int) -> set[Key]:
    """The cells to hide so that no cell under k can be recovered by subtraction."""
    hidden = {key for key, count in n.items() if count < k}
    families, shown = _families(n, tree, ndims, hidden)
    changed = True
    while changed:
        changed = False
        for axis, axis_families in enumerate(families):
            shown_sums = shown[axis]
            for parent, children in axis_families.items():
                if parent in hidden:
                    newly = [c for c in children if c not in hidden]
                else:
                    # What subtraction would reveal; visible_groups only acts when that is
                    # 1..k−1 respondents (the children under k are hidden already).
                    revealed = n[parent] - shown_sums[parent]
                    if not 0 < revealed < k:
                        continue
                    # Ties between equal children go to the first listed; the order must not
                    # depend on how the cube was built, or two answers could hide different
                    # twins.
                    children.sort(key=_sort_key)
                    verdict = visible_groups(
                        n[parent], {c: 0 if c in hidden else n[c] for c in children}, k=k)
                    newly = [c for c in verdict.suppressed if c not in hidden]
                if newly:
                    hidden.update(newly)
                    changed = True
                    # Every family these cells belong to now shows that much less.
                    for cell in newly:
                        for other_axis, other in _parents(cell, tree, ndims):
                            shown[other_axis][other] -= n[cell]
    return hidden
