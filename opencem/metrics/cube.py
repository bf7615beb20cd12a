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
    """n of every cell (with margins) and the cells anonymity hides.

    Cells are keyed ``(node, value of dim 1, …)``; a value of ``ALL`` is that axis's margin.
    """

    tree: Tree
    n: dict[Key, int]
    hidden: set[Key]

    def visible(self, key: Key) -> bool:
        return key in self.n and key not in self.hidden


def build_cube(rows: Mapping[Key, int], tree: Tree, ndims: int, k: int) -> Cube:
    """Lay ``rows`` (node, dims…) → n, each node's whole subtree, out as a cube with margins
    and work out what anonymity hides."""
    n: dict[Key, int] = {}
    get = n.get
    masks = [tuple(bool(m >> i & 1) for i in range(ndims)) for m in range(1 << ndims)]
    # Every value combination appears at many nodes: its margins are worked out once.
    margins: dict[Key, list[Key]] = {}
    for key, value in rows.items():
        node, rest = key[0], key[1:]
        around = margins.get(rest)
        if around is None:
            around = margins[rest] = [
                tuple(ALL if m else v for m, v in zip(mask, rest, strict=True))
                for mask in masks]
        for margin in around:
            cell = (node, *margin)
            n[cell] = get(cell, 0) + value
    return Cube(tree, n, suppress(n, tree, ndims, k))


def _families(n: Mapping[Key, int], tree: Tree, ndims: int) -> list[dict[Key, list[Key]]]:
    """Per axis, each parent cell with its child cells (the unit axis first)."""
    families: list[dict[Key, list[Key]]] = [{} for _ in range(ndims + 1)]
    for key in n:
        parent_node = tree.nodes[key[0]]
        if parent_node is not None:
            families[0].setdefault((parent_node, *key[1:]), []).append(key)
        for axis in range(ndims):
            if key[axis + 1] is not ALL:
                parent = (*key[:axis + 1], ALL, *key[axis + 2:])
                families[axis + 1].setdefault(parent, []).append(key)
    return families


def suppress(n: Mapping[Key, int], tree: Tree, ndims: int, k: int) -> set[Key]:
    """The cells to hide so that no cell under k can be recovered by subtraction."""
    families = _families(n, tree, ndims)
    hidden = {key for key, count in n.items() if count < k}
    changed = True
    while changed:
        changed = False
        for axis_families in families:
            for parent, children in axis_families.items():
                if parent in hidden:
                    newly = [c for c in children if c not in hidden]
                else:
                    # What subtraction would reveal; visible_groups only acts when that is
                    # 1..k−1 respondents (the children under k are hidden already).
                    revealed = n[parent] - sum(n[c] for c in children if c not in hidden)
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
    return hidden
