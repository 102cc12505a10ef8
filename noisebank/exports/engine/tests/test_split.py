from collections import Counter, defaultdict

import pytest

from noisebank.exports.engine.split import SPLITS, GroupedSplit, UngroupedSplit, check_ratios


def test_ratios_are_normalised_and_unusable_ones_refused() -> None:
    assert check_ratios((80, 10, 10)) == pytest.approx((0.8, 0.1, 0.1))
    assert check_ratios((8, 1, 1)) == pytest.approx((0.8, 0.1, 0.1))
    for bad in [(0, 1, 1), (1, -1, 1), (1, float("nan"), 0), (1, 1), (0, 0, 0)]:
        with pytest.raises(ValueError):
            check_ratios(bad)


def sites(classes: int, per_class: int, rows: int = 5) -> list[tuple[tuple[str], str, int]]:
    return [
        ((f"site {c}-{s}",), f"class {c}", rows) for c in range(classes) for s in range(per_class)
    ]


def test_every_class_gets_its_share_of_groups_when_there_are_enough() -> None:
    counts = sites(classes=3, per_class=10)
    plan = GroupedSplit(counts, (0.8, 0.1, 0.1), seed=7, group_by=["community"])
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    for (site,), label, _ in counts:
        per_class[label][plan.split_of([site])] += 1
    assert plan.groups == 30 and plan.strata == 3
    for label, splits in per_class.items():
        assert splits == {"train": 8, "validation": 1, "test": 1}, label


def test_each_split_gets_its_share_of_rows_to_within_one_group() -> None:
    counts = [((f"s{i}",), "horn", 1 + i % 5) for i in range(100)]  # sites of 1 to 5 rows
    total = sum(n for _, _, n in counts)
    for seed in range(10):
        plan = GroupedSplit(counts, (0.5, 0.25, 0.25), seed, ["community"])
        rows: Counter[str] = Counter()
        for (site,), _, n in counts:
            rows[plan.split_of([site])] += n
        for split, share in zip(SPLITS, (0.5, 0.25, 0.25), strict=True):
            assert abs(rows[split] - total * share) <= 5, (seed, rows)


def test_recordings_sharing_a_site_or_a_collector_are_one_group() -> None:
    counts = [
        (("Tema", "ama"), "horn", 3),
        (("Accra", "ama"), "bell", 2),  # ama joins Tema and Accra
        (("Accra", "kofi"), "horn", 1),  # kofi joins them too
        (("Kumasi", "yaw"), "horn", 4),
        ((None, "esi"), "bell", 1),
        ((None, "kwame"), "bell", 1),  # an unknown site is one site: esi and kwame together
    ]
    for seed in range(30):
        plan = GroupedSplit(counts, (0.4, 0.3, 0.3), seed, ["community", "collector"])
        assert plan.groups == 3
        assert plan.split_of(["Tema"]) == plan.split_of(["Accra"])
        assert plan.group_of(["Tema"]) == plan.group_of(["Accra"])
        assert plan.split_of([None]) == plan.split_of([None, "kwame"])


def test_the_same_seed_gives_the_same_split_whatever_the_order_of_the_counts() -> None:
    counts = sites(classes=2, per_class=20)

    def assignment(seed: int, given: list[tuple[tuple[str], str, int]]) -> dict[str, str]:
        plan = GroupedSplit(given, (0.6, 0.2, 0.2), seed, ["community"])
        return {site: plan.split_of([site]) for (site,), _, _ in counts}

    assert assignment(3, counts) == assignment(3, list(reversed(counts)))
    assert assignment(3, counts) != assignment(4, counts)


def test_a_new_group_moves_few_others() -> None:
    counts = sites(classes=1, per_class=40)
    before = GroupedSplit(counts, (0.8, 0.1, 0.1), 5, ["community"])
    grown = [*counts, (("new site",), "class 0", 5)]
    after = GroupedSplit(grown, (0.8, 0.1, 0.1), 5, ["community"])
    moved = [s for (s,), _, _ in counts if before.split_of([s]) != after.split_of([s])]
    assert len(moved) <= 3


def test_a_split_with_no_share_gets_nothing() -> None:
    counts = sites(classes=2, per_class=10)
    plan = GroupedSplit(counts, (0.9, 0.0, 0.1), 0, ["community"])
    assert {plan.split_of([s]) for (s,), _, _ in counts} == {"train", "test"}


def test_a_group_missing_from_the_counts_is_an_error() -> None:
    plan = GroupedSplit(sites(1, 3), (0.8, 0.1, 0.1), 0, ["community"])
    with pytest.raises(KeyError, match="community=elsewhere"):
        plan.split_of(["elsewhere"])


@pytest.mark.parametrize("ratios", [(0.8, 0.1, 0.1), (0.7, 0.15, 0.15), (0.9, 0.0, 0.1)])
def test_ungrouped_rows_of_each_label_are_within_three_of_their_share_at_any_length(
    ratios: tuple[float, float, float],
) -> None:
    for seed in range(5):
        plan = UngroupedSplit(ratios, seed)
        seen: dict[str, Counter[str]] = defaultdict(Counter)
        for n in range(1, 1001):
            for label in ("horn", "bell", "squeal"):
                if label == "squeal" and n > 20:
                    continue  # a small class gets its share too
                seen[label][plan.split_of([], label)] += 1
                total = sum(seen[label].values())
                for split, share in zip(SPLITS, ratios, strict=True):
                    assert abs(seen[label][split] - total * share) < 3, (label, total, seen)


def test_ungrouped_split_depends_on_the_seed() -> None:
    def sequence(seed: int) -> list[str]:
        plan = UngroupedSplit((0.6, 0.2, 0.2), seed)
        return [plan.split_of([], "horn") for _ in range(50)]

    assert sequence(1) == sequence(1)
    assert sequence(1) != sequence(2)
