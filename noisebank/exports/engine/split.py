"""Train / validation / test splits for dataset bundles, decided row by row in one pass.

Two rules, both seeded and deterministic (the same rows, ratios and seed give the same split):

- **Grouped** (`group_by` names columns, e.g. community = the site, or collector): recordings that
  share a value of any group column form one group (connected components, so with two columns
  a site and a collector that meet in one recording are one group), and a group never straddles
  splits. A NULL group value is one value ("unknown" could be one site). The plan is made before
  the rows stream, from `(group values, label, rows)` counts — one per distinct combination, so
  its size follows the sites and collectors, not the rows. Each group's stratum is its most
  frequent label; within a stratum the groups are ordered by a seeded hash of their key and
  laid end to end by row count, and a group goes to the split whose share of the stratum
  (train first, then validation, then test) holds its midpoint. So every label gets its ratio
  of rows to within one group's size, and a few more groups shift the cuts only slightly.
- **Ungrouped** (each recording its own group): the k-th row of a label (rows come in id order)
  sits at frac(offset + k / golden ratio) in [0, 1), with a seeded offset per label, and goes to
  the split whose share holds that point. The golden-ratio sequence covers [0, 1) evenly at every
  length, so each label gets its ratio of rows to within a row or two, with only a counter per
  label in memory.
"""

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

SPLITS = ("train", "validation", "test")
_GOLDEN = (math.sqrt(5) - 1) / 2  # 1 / golden ratio


def seeded_unit(seed: int, key: str) -> float:
    """A number in [0, 1) from the seed and a key (sha256: stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    """Three shares (train, validation, test), normalised to sum 1; ValueError if unusable."""
    if len(ratios) != len(SPLITS):
        raise ValueError(f"give {len(SPLITS)} ratios (train, validation, test), not {len(ratios)}")
    if any(not math.isfinite(r) or r < 0 for r in ratios):
        raise ValueError("ratios must be finite numbers, 0 or more")
    total = sum(ratios)
    if total <= 0 or ratios[0] <= 0:
        raise ValueError("the train ratio must be above 0")
    train, validation, test = (r / total for r in ratios)
    return train, validation, test


def _split_at(point: float, ratios: Sequence[float]) -> str:
    bound = 0.0
    for name, ratio in zip(SPLITS, ratios, strict=True):
        bound += ratio
        if ratio > 0 and point < bound:
            return name
    # Rounding can leave the bound a hair under 1: the last split with a share takes the point.
    shares = zip(reversed(SPLITS), reversed(ratios), strict=True)
    return next(name for name, ratio in shares if ratio > 0)


def _label_key(label: Any) -> str:
    return "" if label is None else str(label)


@dataclass
class _Group:
    key: str
    rows: int = 0
    labels: dict[str, int] = field(default_factory=lambda: defaultdict(int))


Node = tuple[int, str | None]  # (position in group_by, value)


class GroupedSplit:
    """The split of every group, planned from per-group label counts."""

    strategy = "grouped"

    def __init__(
        self,
        counts: Iterable[tuple[Sequence[Any], Any, int]],
        ratios: Sequence[float],
        seed: int,
        group_by: Sequence[str],
    ) -> None:
        self.ratios = check_ratios(ratios)
        self.seed = seed
        self.group_by = tuple(group_by)
        if not self.group_by:
            raise ValueError("a grouped split needs at least one group column")
        self._parent: dict[Node, Node] = {}
        rows: list[tuple[Node, str, int]] = []
        for values, label, n in counts:
            if len(values) != len(self.group_by):
                raise ValueError(f"expected {len(self.group_by)} group values, got {len(values)}")
            nodes = [self._node(i, v) for i, v in enumerate(values)]
            for other in nodes[1:]:
                self._union(nodes[0], other)
            self._find(nodes[0])
            rows.append((nodes[0], _label_key(label), int(n)))

        groups: dict[Node, _Group] = {}
        for node in self._parent:
            group = groups.setdefault(self._find(node), _Group(key=self._name(node)))
            group.key = min(group.key, self._name(node))
        for node, label, n in rows:
            group = groups[self._find(node)]
            group.rows += n
            group.labels[label] += n

        strata: dict[str, list[tuple[Node, _Group]]] = defaultdict(list)
        for root, group in groups.items():
            # Most rows first; a tie goes to the label that sorts first, so the plan is stable.
            stratum = min(group.labels.items(), key=lambda item: (-item[1], item[0]))[0]
            strata[stratum].append((root, group))
        self._split_of_root: dict[Node, str] = {}
        for members in strata.values():
            members.sort(key=lambda m: (seeded_unit(seed, m[1].key), m[1].key))
            total = sum(g.rows for _, g in members) or 1
            before = 0
            for root, group in members:
                middle = (before + group.rows / 2) / total
                self._split_of_root[root] = _split_at(middle, self.ratios)
                before += group.rows
        self.groups = len(groups)
        self.strata = len(strata)

    @staticmethod
    def _node(position: int, value: Any) -> Node:
        return (position, None if value is None else str(value))

    def _find(self, node: Node) -> Node:
        parent = self._parent
        parent.setdefault(node, node)
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression keeps later finds short
            parent[node], node = root, parent[node]
        return root

    def _union(self, a: Node, b: Node) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            low, high = sorted((ra, rb), key=repr)
            self._parent[high] = low

    def _name(self, node: Node) -> str:
        position, value = node
        return f"{self.group_by[position]}={'' if value is None else value}"

    def _root(self, group_values: Sequence[Any]) -> Node:
        node = self._node(0, group_values[0])
        if node not in self._parent:
            raise KeyError(f"{self._name(node)} was not in the counts the split was planned from")
        return self._find(node)

    def split_of(self, group_values: Sequence[Any], label: Any = None) -> str:
        """The split of the row whose group columns hold group_values (label: unused here)."""
        return self._split_of_root[self._root(group_values)]

    def group_of(self, group_values: Sequence[Any]) -> str:
        """A name for the row's group (one of the values that make it up)."""
        return self._name(self._root(group_values))


class UngroupedSplit:
    """Each recording its own group: a golden-ratio sequence per label, seeded."""

    strategy = "stratified"

    def __init__(self, ratios: Sequence[float], seed: int) -> None:
        self.ratios = check_ratios(ratios)
        self.seed = seed
        self.seen: dict[str, int] = defaultdict(int)
        self.offsets: dict[str, float] = {}

    def split_of(self, group_values: Sequence[Any], label: Any = None) -> str:
        key = _label_key(label)
        if key not in self.offsets:
            self.offsets[key] = seeded_unit(self.seed, key)
        k = self.seen[key]
        self.seen[key] = k + 1
        return _split_at((self.offsets[key] + k * _GOLDEN) % 1.0, self.ratios)
