"""Map geometry without a tile server: an equirectangular view of a box of longitude/latitude,
a grid over it for clustering, and simple outlines (convex hulls) of sets of sites.

Degrees are WGS 84 decimal degrees; a view's x grows east and y grows south (SVG's axes).
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Point = tuple[float, float]  # (longitude, latitude)

WIDTH = 960.0  # the drawing's width in SVG units
MIN_HEIGHT, MAX_HEIGHT = 320.0, 720.0
MIN_SPAN = 0.02  # degrees: a single site is shown with a little land around it
MARGIN = 0.08  # of each span, added on every side so points on the edge are not cut
CELL = 48.0  # SVG units: the side of a clustering cell


@dataclass(frozen=True)
class View:
    """An equirectangular projection of west..east, south..north onto width x height: a degree
    of longitude is cos(mid-latitude) of a degree of latitude, so shapes keep their look."""

    west: float
    south: float
    east: float
    north: float
    width: float
    height: float

    def x(self, lon: float) -> float:
        return (lon - self.west) / (self.east - self.west) * self.width

    def y(self, lat: float) -> float:
        return (self.north - lat) / (self.north - self.south) * self.height

    @property
    def columns(self) -> int:
        return max(1, round(self.width / CELL))

    @property
    def rows(self) -> int:
        return max(1, round(self.height / CELL))

    @property
    def cell_width(self) -> float:
        """Degrees of longitude a grid cell spans."""
        return (self.east - self.west) / self.columns

    @property
    def cell_height(self) -> float:
        return (self.north - self.south) / self.rows


def view_of(west: float, south: float, east: float, north: float) -> View:
    """A view holding the box with a margin, its shape clamped to a readable height: the short
    side is widened (never the data cut) when the box is too tall or too flat."""
    lon_span = max(east - west, MIN_SPAN) * (1 + 2 * MARGIN)
    lat_span = max(north - south, MIN_SPAN) * (1 + 2 * MARGIN)
    mid_lon, mid_lat = (west + east) / 2, (south + north) / 2
    squeeze = max(math.cos(math.radians(mid_lat)), 0.1)
    height = WIDTH * lat_span / (lon_span * squeeze)
    if height > MAX_HEIGHT:
        lon_span *= height / MAX_HEIGHT
        height = MAX_HEIGHT
    elif height < MIN_HEIGHT:
        lat_span *= MIN_HEIGHT / height
        height = MIN_HEIGHT
    lat_span = min(lat_span, 180.0)
    return View(
        west=mid_lon - lon_span / 2,
        south=mid_lat - lat_span / 2,
        east=mid_lon + lon_span / 2,
        north=mid_lat + lat_span / 2,
        width=WIDTH,
        height=round(height, 1),
    )


def convex_hull(points: Iterable[Point]) -> list[Point]:
    """The convex hull, counter-clockwise from the lowest-left point (Andrew's monotone chain);
    fewer than three distinct points come back as they are."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def outline(sites: Sequence[Point], pad: float) -> list[Point]:
    """A closed ring (RFC 7946: first = last, counter-clockwise) around sites: the convex hull
    of a square of +-pad degrees about each site. A drawn guess at an area, not a border."""
    corners = [
        (round(lon + dx, 6), round(lat + dy, 6))
        for lon, lat in sites
        for dx in (-pad, pad)
        for dy in (-pad, pad)
    ]
    ring = convex_hull(corners)
    return [*ring, ring[0]]
