import pytest

from noisebank.lib.geo import MAX_HEIGHT, MIN_HEIGHT, WIDTH, convex_hull, outline, view_of


def test_the_hull_drops_inner_and_collinear_points() -> None:
    square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    inside = [(1.0, 1.0), (1.0, 0.0), (0.5, 1.5)]
    assert convex_hull(square + inside) == square


def test_an_outline_is_a_closed_ring_around_every_site() -> None:
    ring = outline([(-0.203, 5.549), (-0.017, 5.669)], 0.1)
    assert ring[0] == ring[-1]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    assert min(xs) == pytest.approx(-0.303) and max(xs) == pytest.approx(0.083)
    assert min(ys) == pytest.approx(5.449) and max(ys) == pytest.approx(5.769)


@pytest.mark.parametrize(
    "box",
    [(-0.203, 5.549, -0.203, 5.549), (-2.0, 4.9, 8.6, 48.9), (-180.0, -1.0, 180.0, 1.0)],
)
def test_a_view_holds_its_box_inside_its_margins_at_a_readable_height(
    box: tuple[float, float, float, float],
) -> None:
    west, south, east, north = box
    view = view_of(*box)
    assert view.width == WIDTH and MIN_HEIGHT <= view.height <= MAX_HEIGHT
    for lon, lat in ((west, south), (east, north)):
        assert 0 < view.x(lon) < view.width
        assert 0 < view.y(lat) < view.height
    assert view.columns * view.cell_width == pytest.approx(view.east - view.west)
