"""After the build (the dataset site): charts, drawn at build time to static SVG with matplotlib.

Each chart is a pure function of the package's rows, its data computed by SQL aggregates
(GROUP BY, ORDER BY, LIMIT) on the package's database (database.py), so that no table is
read into Python; ties are broken by name and then by key, so the order is always the same.
Its SVG is byte-for-byte the same on every build: a fixed hash salt for the ids matplotlib
writes, no date in the metadata, and text drawn as paths (no font needs to be present where
the page is viewed). Every mark
(a bar, the group of map points) carries an id starting with "mark-", so that tests can
count what was drawn against the data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import duckdb
import matplotlib
from matplotlib.figure import Figure

from newspack.site.package import SiteError
from newspack.site.upstream import sandbox

STYLE = {
    "svg.hashsalt": "newspack-site",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",  # shipped inside matplotlib: the same glyphs everywhere
    "font.size": 9,
    "text.parse_math": False,  # data can hold "$" (money): never read it as mathtext
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.frameon": False,
}
PALETTE = ["#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1", "#b7791f", "#319795"]
TOP_ENTITY_TYPES = 4  # panels of the entities chart: the most mentioned types
TOP_ENTITIES = 6  # bars per panel
MAP_LABELS = 10  # places named on the world view (the most covered ones)
ZOOM_DEGREES = 8  # half-width of the close-up around the most covered place


@dataclass(frozen=True)
class Chart:
    """A chart of the site: its file name, the text that stands in for it, and its SVG."""

    name: str
    title: str
    alt: str
    source: str  # the table the chart is drawn from, linked under it
    svg: bytes


def render_charts(con: duckdb.DuckDBPyConnection) -> list[Chart]:
    """The charts of the package whose tables `con` holds."""
    with matplotlib.rc_context(STYLE):
        return [
            _updates_chart(con),
            _entities_chart(con),
            _figures_chart(con),
            _places_chart(con),
            _focus_chart(con),
        ]


def _svg(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _query(con: duckdb.DuckDBPyConnection, sql: str, *tables: str) -> list[tuple]:
    """The rows of `sql`; none when the package lacks one of the `tables` it reads."""
    present = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not set(tables) <= present:
        return []
    try:
        return con.execute(sql).fetchall()
    except duckdb.Error as error:
        raise SiteError(
            f"{', '.join(tables)}: a chart cannot be drawn ({sandbox.reason(error)})"
        ) from None


def _empty(figure: Figure, message: str) -> None:
    figure.text(0.5, 0.5, message, ha="center", va="center", color="#666666")


def _mark(artists, chart: str) -> None:
    for index, artist in enumerate(artists):
        artist.set_gid(f"mark-{chart}-{index}")


def updates_per_day(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """(articles, versions) per day of `updated_at` (UTC), days in order; undated rows left
    out."""
    days: dict[str, tuple[int, int]] = {}
    for table, position in (("articles", 0), ("article_versions", 1)):
        sql = f"""
            SELECT strftime(timezone('UTC', updated_at), '%Y-%m-%d') AS day, count(*)
            FROM {table} WHERE updated_at IS NOT NULL GROUP BY day"""
        for day, count in _query(con, sql, table):
            counts = list(days.get(day, (0, 0)))
            counts[position] = count
            days[day] = (counts[0], counts[1])
    return dict(sorted(days.items()))


def _updates_chart(con: duckdb.DuckDBPyConnection) -> Chart:
    counts = updates_per_day(con)
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = figure.subplots()
    if counts:
        width = 0.36
        positions = range(len(counts))
        for offset, series, values, colour in (
            (-width / 2, "articles", [a for a, _ in counts.values()], PALETTE[0]),
            (width / 2, "versions", [v for _, v in counts.values()], PALETTE[1]),
        ):
            bars = ax.bar(
                [p + offset for p in positions], values, width, label=series, color=colour
            )
            _mark(bars, f"updates-{series}")
            ax.bar_label(bars, padding=2, fontsize=8)
        # With few days, keep bars slim and centred instead of filling the whole width.
        pad = max(0.7, (4 - len(counts)) / 2)
        ax.set_xlim(-pad, len(counts) - 1 + pad)
        ax.set_xticks(list(positions), list(counts), rotation=30 if len(counts) > 6 else 0)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="upper left", ncols=2)
        ax.set_ylabel("count")
        ax.margins(y=0.15)
    else:
        _empty(figure, "No dated articles in this package")
    ax.set_title("Articles and versions per update day")
    alt = (
        "Bar chart of articles and article versions per day of last update, "
        f"over {len(counts)} day(s)."
    )
    return Chart(
        "updates-per-day",
        "Articles and versions per update day",
        alt,
        "article_versions",
        _svg(figure),
    )


def top_entities_by_type(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, int]]]:
    """The most mentioned entities of the most mentioned types, most mentioned first."""
    sql = f"""
        WITH counted AS (
            SELECT coalesce(entity_type, '') AS kind, coalesce(name, '') AS name,
                   coalesce(mention_count, 0) AS mentions, entity_id
            FROM entities),
        kinds AS (
            SELECT kind, sum(mentions) AS total FROM counted GROUP BY kind
            ORDER BY total DESC, kind LIMIT {TOP_ENTITY_TYPES}),
        ranked AS (
            SELECT kind, name, mentions, row_number() OVER (
                PARTITION BY kind ORDER BY mentions DESC, name, entity_id) AS place
            FROM counted WHERE kind IN (SELECT kind FROM kinds))
        SELECT kind, name, mentions FROM ranked JOIN kinds USING (kind)
        WHERE place <= {TOP_ENTITIES} ORDER BY total DESC, kind, place"""
    panels: dict[str, list[tuple[str, int]]] = {}
    for kind, name, mentions in _query(con, sql, "entities"):
        panels.setdefault(kind, []).append((name, mentions))
    return panels


def _entities_chart(con: duckdb.DuckDBPyConnection) -> Chart:
    panels = top_entities_by_type(con)
    figure = Figure(figsize=(6.4, 4.6), layout="constrained")
    if not panels:
        _empty(figure, "No entities in this package")
    axes = figure.subplots(2, 2).flat if panels else []
    for index, (ax, (kind, rows)) in enumerate(zip(axes, panels.items(), strict=False)):
        names = [name for name, _ in rows][::-1]  # barh draws bottom-up: most mentioned on top
        bars = ax.barh(names, [c for _, c in rows][::-1], color=PALETTE[index % len(PALETTE)])
        _mark(bars, f"entities-{index}")
        ax.set_title(kind)
        ax.tick_params(axis="y", length=0)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in list(axes)[len(panels) :]:
        ax.set_visible(False)
    figure.suptitle("Most mentioned entities by type (mentions)", x=0.01, ha="left", weight="bold")
    alt = "Bar charts of the most mentioned entities of the types " + ", ".join(panels) + "."
    return Chart(
        "entities-by-type", "Most mentioned entities by type", alt, "entities", _svg(figure)
    )


def figures_by_kind_and_unit(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(kind, unit, count), kinds by size; units seen once are pooled as "other units"."""
    sql = """
        WITH units AS (
            SELECT coalesce(figure_kind, '') AS kind, coalesce(unit, 'no unit') AS unit,
                   count(*) AS figures
            FROM figures GROUP BY ALL),
        pooled AS (
            SELECT kind, CASE WHEN figures > 1 THEN unit ELSE 'other units' END AS unit,
                   sum(figures) AS figures
            FROM units GROUP BY ALL)
        SELECT kind, unit, figures FROM pooled
        ORDER BY sum(figures) OVER (PARTITION BY kind) DESC, kind,
                 CASE WHEN unit = 'other units' THEN figures ELSE -figures END, unit"""
    return [(kind, unit, int(count)) for kind, unit, count in _query(con, sql, "figures")]


def _figures_chart(con: duckdb.DuckDBPyConnection) -> Chart:
    rows = figures_by_kind_and_unit(con)
    figure = Figure(figsize=(6.4, 0.9 + 0.24 * max(len(rows), 4)), layout="constrained")
    ax = figure.subplots()
    kinds = list(dict.fromkeys(kind for kind, _, _ in rows))
    colours = {kind: PALETTE[i % len(PALETTE)] for i, kind in enumerate(kinds)}
    if rows:
        labels = [f"{kind} · {unit}" for kind, unit, _ in rows][::-1]
        values = [count for _, _, count in rows][::-1]
        bars = ax.barh(labels, values, color=[colours[k] for k, _, _ in rows][::-1])
        _mark(bars, "figures")
        ax.bar_label(bars, padding=2, fontsize=8)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("figures")
    else:
        _empty(figure, "No figures in this package")
    ax.set_title("Figures by kind and unit")
    alt = f"Bar chart of the figures found in the articles by kind and unit ({len(rows)} groups)."
    return Chart("figures-by-kind", "Figures by kind and unit", alt, "figures", _svg(figure))


def resolved_places(con: duckdb.DuckDBPyConnection) -> list[tuple[str, float, float, int]]:
    """(name, longitude, latitude, articles) of the entities with coordinates, the most
    covered first."""
    sql = """
        SELECT coalesce(name, ''), longitude, latitude, coalesce(article_count, 0) AS articles
        FROM entities WHERE latitude IS NOT NULL AND longitude IS NOT NULL
        ORDER BY articles DESC, coalesce(name, ''), entity_id"""
    return _query(con, sql, "entities")


def focus_places(con: duckdb.DuckDBPyConnection) -> list[tuple[str, float, float, int]]:
    """(name, longitude, latitude, articles) of the places articles are about (article_focus,
    any rank) that have coordinates, the most covered first."""
    sql = """
        SELECT coalesce(e.name, '') AS name, e.longitude, e.latitude, count(*) AS articles
        FROM article_focus f JOIN entities e ON e.entity_id = f.place_entity_id
        WHERE e.latitude IS NOT NULL AND e.longitude IS NOT NULL
        GROUP BY e.entity_id, e.name, e.longitude, e.latitude
        ORDER BY articles DESC, name, e.entity_id"""
    return _query(con, sql, "entities", "article_focus")


def _places_chart(con: duckdb.DuckDBPyConnection) -> Chart:
    places = resolved_places(con)
    alt = f"Map of the {len(places)} places with coordinates, sized by the articles naming them."
    svg = _map(places, "Resolved places (dot size: articles naming them)", "places")
    return Chart("places-map", "Map of resolved places", alt, "entities", svg)


def _focus_chart(con: duckdb.DuckDBPyConnection) -> Chart:
    places = focus_places(con)
    alt = (
        f"Map of the {len(places)} places the articles are about (their focus), sized by the "
        "articles about them."
    )
    svg = _map(places, "Focus places (dot size: articles about them)", "focus")
    return Chart("focus-map", "Map of focus places", alt, "article_focus", svg)


def _map(places, title: str, what: str) -> bytes:
    """A world view of the places and a close-up around the most covered one."""
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    overview, close_up = figure.subplots(1, 2, width_ratios=[1.8, 1])
    if places:
        _draw_places(overview, places, _extent(places, 10), 30, 9.0, f"{what}-all")
        overview.set_title(title)
        lon, lat = places[0][1], places[0][2]
        around = (lon - ZOOM_DEGREES, lon + ZOOM_DEGREES, lat - ZOOM_DEGREES, lat + ZOOM_DEGREES)
        _draw_places(close_up, places, around, 5, 2.0, f"{what}-close-up")
        close_up.set_title(f"Around {places[0][0]}")
    else:
        _empty(figure, "No places with coordinates in this package")
        overview.set_visible(False)
        close_up.set_visible(False)
    return _svg(figure)


def _extent(places, margin: float) -> tuple[float, float, float, float]:
    """The places' bounding box plus a margin, within the world."""
    lons, lats = [p[1] for p in places], [p[2] for p in places]
    return (
        max(-180.0, min(lons) - margin),
        min(180.0, max(lons) + margin),
        max(-90.0, min(lats) - margin),
        min(90.0, max(lats) + margin),
    )


def _draw_places(ax, places, extent, step: int, spacing: float, view: str) -> None:
    west, east, south, north = extent
    inside = [p for p in places if west <= p[1] <= east and south <= p[2] <= north]
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    # A graticule stands in for coastlines: there is no offline outline data to draw.
    ax.set_xticks(range(int(west // step * step), int(east) + 1, step))
    ax.set_yticks(range(int(south // step * step), int(north) + 1, step))
    ax.xaxis.set_major_formatter(
        lambda value, _: f"{abs(value):g}°{'E' if value > 0 else 'W' if value < 0 else ''}"
    )
    ax.yaxis.set_major_formatter(
        lambda value, _: f"{abs(value):g}°{'N' if value > 0 else 'S' if value < 0 else ''}"
    )
    ax.grid(color="#d8dee6", linewidth=0.6)
    ax.set_facecolor("#f4f8fb")
    ax.tick_params(labelsize=7, length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(True)
        ax.spines[side].set_color("#c5ccd6")
    sizes = [14 + 22 * p[3] for p in inside]
    points = ax.scatter(
        [p[1] for p in inside],
        [p[2] for p in inside],
        s=sizes,
        alpha=0.75,
        color=PALETTE[0],
        edgecolor="white",
        linewidth=0.5,
        zorder=3,
    )
    points.set_gid(f"mark-{view}")
    for name, lon, lat, _ in _spaced(inside, spacing)[:MAP_LABELS]:
        ax.annotate(
            name,
            (lon, lat),
            xytext=(5, 3),
            textcoords="offset points",
            fontsize=7,
            color="#1a202c",
            zorder=4,
            annotation_clip=True,
        )


def _spaced(places, spacing: float):
    """The places to name, most covered first, none closer than `spacing` degrees to one
    already named: labels of a dense cluster would print over each other."""
    named = []
    for place in places:
        if all(abs(place[1] - o[1]) + abs(place[2] - o[2]) >= spacing for o in named):
            named.append(place)
    return named
