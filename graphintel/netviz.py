"""Interactive network views as self-contained HTML (pyvis / vis-network), without Streamlit.

A view is two plain frames: ``nodes`` (``id`` plus optional ``label``, ``title``, ``color``,
``size``, ``level``, ``shape``, ``group``) and ``edges`` (``source``, ``target`` plus optional
``title``, ``width``, ``color``, ``dashes``, ``label``). :func:`generate_html` turns them into one
HTML page with the vis-network library inline, so it renders with no network access.

Security
--------
Titles, handles and ids come from hostile people. They are escaped exactly once, as JSON: the
node and edge data reach the page only inside a script (Jinja's ``tojson`` escapes ``<``, ``>``
and ``&``), vis-network draws labels on its canvas and shows a string ``title`` with
``innerText`` (vis-network 9), so text is never parsed as HTML and shows as written ("R&D", not
"R&amp;D"). Nothing from the data is ever written into HTML markup directly. The pyvis options
that would put titles into ``innerHTML`` (``select_menu``, ``filter_menu``, tooltip links) are not
used.
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MISSING_COLOR",
    "PALETTE",
    "VIS_FILES",
    "category_colors",
    "display_text",
    "escape_text",
    "generate_html",
    "scale_sizes",
    "tree_layout",
]

# Tableau-like 20 colours; categories are coloured by their rank, so the same label set gets
# the same colours on every rerun.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
MISSING_COLOR = "#b0b0b0"

# The pyvis template links Bootstrap from a CDN; the view does not need it and there may be no
# network, so those two tags (template constants, never data) are removed.
_CDN_TAGS = re.compile(
    r"<link[^>]*cdn\.jsdelivr\.net[^>]*/>|<script[^>]*cdn\.jsdelivr\.net[^>]*>\s*</script>",
    re.DOTALL,
)
# With ``library_url`` the page loads vis-network from there instead of carrying it inline
# (~0.7 MB per page): the template's cdnjs tags (constants, never data) are swapped for these.
_VIS_REMOTE_TAGS = re.compile(
    r"<link[^>]*cdnjs\.cloudflare\.com/ajax/libs/vis-network/[^>]*/>\s*"
    r"<script[^>]*cdnjs\.cloudflare\.com/ajax/libs/vis-network/[^>]*>\s*</script>",
    re.DOTALL,
)
_NODE_FIELDS = ("id", "label", "title", "color", "size", "level", "shape", "borderWidth", "x", "y")
VIS_FILES = ("vis-network.css", "vis-network.min.js")  # what a ``library_url`` folder must hold


def escape_text(value: Any, *, limit: int = 200) -> str:
    """``value`` as display text: ``str``, cut to ``limit`` characters, HTML-escaped.

    ``&``, ``<`` and ``>`` are escaped (enough for text content, where labels and tooltips go;
    quotes stay readable). Missing values (None/NaN) become ``""``.

    Examples
    --------
    >>> escape_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> escape_text(None), escape_text(float("nan")), escape_text("abcdef", limit=3)
    ('', '', 'abc…')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return html.escape(text, quote=False)


def display_text(value: Any, *, limit: int = 200) -> str:
    """``value`` as display text for a canvas label or a text tooltip: ``str``, cut to ``limit``
    characters, not escaped (the JSON encoding escapes it once).

    Examples
    --------
    >>> display_text("R&D <lab>"), display_text(None), display_text("abcdef", limit=3)
    ('R&D <lab>', '', 'abc…')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value)
    return text[:limit] + "…" if len(text) > limit else text


def category_colors(values: pd.Series | list[Any]) -> list[str]:
    """A colour per value: distinct categories get :data:`PALETTE` colours by sorted rank
    (cycling after 20); missing values get :data:`MISSING_COLOR`.

    Examples
    --------
    >>> category_colors([3, 1, None, 3])
    ['#ff7f0e', '#1f77b4', '#b0b0b0', '#ff7f0e']
    """
    s = pd.Series(list(values), dtype=object)
    missing = s.isna().to_numpy()
    keys = s.map(str, na_action="ignore")
    codes, _ = pd.factorize(keys, sort=True)
    out = np.array(PALETTE, dtype=object)[np.maximum(codes, 0) % len(PALETTE)]
    out[missing | (codes < 0)] = MISSING_COLOR
    return out.tolist()


def scale_sizes(
    values: pd.Series | np.ndarray | list[float], *, lo: float = 8.0, hi: float = 45.0
) -> np.ndarray:
    """Node sizes from ``lo`` to ``hi`` by the square root of ``values`` (area ∝ value).

    Examples
    --------
    >>> scale_sizes([0, 25, 100]).round(1).tolist()
    [8.0, 26.5, 45.0]
    """
    v = np.sqrt(np.clip(pd.to_numeric(pd.Series(values), errors="coerce").fillna(0.0), 0, None))
    v = v.to_numpy(float)
    top = v.max() if len(v) else 0.0
    if top <= 0:
        return np.full(len(v), lo)
    return lo + (hi - lo) * v / top


def _records(frame: pd.DataFrame, keep: tuple[str, ...]) -> list[dict[str, Any]]:
    cols = [c for c in keep if c in frame.columns]
    out = frame[cols].copy()
    for col in cols:
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    records = out.to_dict("records")
    # drop missing optional attributes so vis-network uses its defaults
    return [
        {k: v for k, v in r.items() if v is not None and not (k == "title" and v == "")}
        for r in records
    ]


def _layout_graph(codes: pd.Index, sources: pd.Series, targets: pd.Series) -> Any:
    """The igraph graph of ``codes``' nodes and the edges between known, distinct ends."""
    import igraph as ig

    src = codes.get_indexer(sources.astype(str))
    dst = codes.get_indexer(targets.astype(str))
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    return ig.Graph(n=len(codes), edges=np.column_stack([src[keep], dst[keep]]).tolist())


def force_layout(
    ids: pd.Series, sources: pd.Series, targets: pd.Series, *, seed: int = 0, scale: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Fruchterman–Reingold positions (igraph) for nodes ``ids`` and edges ``sources`` →
    ``targets``, in canvas pixels: the same data and seed give the same picture.

    ``scale`` is the picture's half-width in pixels (default: grows with the square root of the
    node count, ~180 px per node across: vis-network zooms to fit).

    Examples
    --------
    >>> x, y = force_layout(pd.Series(["a", "b", "c"]), pd.Series(["a"]), pd.Series(["b"]))
    >>> len(x), bool((abs(x) <= 1000).all())
    (3, True)
    """
    codes = pd.Index(pd.unique(ids.astype(str)))
    graph = _layout_graph(codes, sources, targets)
    rng = np.random.default_rng(seed)
    start = rng.uniform(-1, 1, size=(len(codes), 2)).tolist()
    pos = np.asarray(graph.layout_fruchterman_reingold(seed=start, niter=300).coords, float)
    if len(pos) == 0:
        return np.zeros(0), np.zeros(0)
    pos -= pos.mean(axis=0)
    extent = float(np.abs(pos).max()) or 1.0
    half = scale or 90.0 * np.sqrt(len(codes)) + 100.0
    pos *= half / extent
    order = codes.get_indexer(ids.astype(str))
    return pos[order, 0].round(1), pos[order, 1].round(1)


def tree_layout(
    ids: pd.Series,
    sources: pd.Series,
    targets: pd.Series,
    levels: pd.Series,
    *,
    spacing: float = 90.0,
    separation: float = 150.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-down tree positions (igraph's Reingold–Tilford) in canvas pixels: row ``levels``
    × ``separation``, siblings ``spacing`` apart, each component rooted at its lowest level.
    Computed here so the browser draws a tree at once instead of laying it out itself.

    Examples
    --------
    >>> x, y = tree_layout(pd.Series(["r", "a", "b"]), pd.Series(["r", "r"]),
    ...                    pd.Series(["a", "b"]), pd.Series([0, 1, 1]), spacing=10)
    >>> y.tolist(), float(abs(x[1] - x[2])), bool(min(x[1], x[2]) < x[0] < max(x[1], x[2]))
    ([0.0, 150.0, 150.0], 10.0, True)
    """
    graph = _layout_graph(pd.Index(ids.astype(str)), sources, targets)
    lv = levels.to_numpy(dtype=float)
    membership = np.asarray(graph.connected_components(mode="weak").membership)
    roots = [
        int(np.flatnonzero(membership == c)[np.argmin(lv[membership == c])])
        for c in np.unique(membership)
    ]
    pos = np.asarray(graph.layout_reingold_tilford(mode="all", root=roots).coords, float)
    if len(pos) == 0:
        return np.zeros(0), np.zeros(0)
    x = (pos[:, 0] - pos[:, 0].mean()) * spacing
    return x.round(1), (lv * separation).round(1)


def generate_html(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    *,
    directed: bool = False,
    hierarchical: bool = False,
    height: int = 600,
    physics: bool = True,
    seed: int = 0,
    library_url: str | None = None,
) -> str:
    """One HTML page showing the network: self-contained (vis-network inline, no CDN), or
    loading vis-network from ``library_url``.

    Parameters
    ----------
    nodes : pandas.DataFrame
        ``id`` (required, str) and optionally ``label`` (default: the id), ``title`` (tooltip,
        plain text, ``\\n`` for new lines), ``color``, ``size``, ``level`` (hierarchical layout
        row), ``shape``, ``borderWidth``. Labels and titles are shown as written (see the
        module notes on escaping).
    edges : pandas.DataFrame
        ``source``, ``target`` (node ids) and optionally ``title``, ``label``, ``width``,
        ``color``, ``dashes``. Edges whose ends are not in ``nodes`` are dropped.
    directed : bool
        Draw arrows (source → target).
    hierarchical : bool
        Top-down tree layout by ``level`` (referral trees).
    height : int
        Pixel height of the canvas.
    physics : bool
        Force-directed layout, computed here (:func:`force_layout`) so the browser draws the
        picture at once; off = vis-network's default placement.
    seed : int
        Layout seed (same data and seed, same picture).
    library_url : str, optional
        A URL folder serving :data:`VIS_FILES` (the vis-network 9.1.2 files pyvis ships), for
        a page shown by a server that has them: the browser then caches the library instead
        of parsing it again in every page. Default: inline, for files opened anywhere.

    Returns
    -------
    str
        A complete HTML document.

    Examples
    --------
    >>> n = pd.DataFrame({"id": ["a", "b"], "label": ["<b>x</b>", "y"]})
    >>> e = pd.DataFrame({"source": ["a"], "target": ["b"]})
    >>> page = generate_html(n, e)
    >>> "<b>x</b>" in page, "vis.Network" in page, "cdn.jsdelivr" in page
    (False, True, False)
    >>> served = generate_html(n, e, library_url="/app/static")
    >>> '<script src="/app/static/vis-network.min.js"></script>' in served, "cdnjs" in served
    (True, False)
    >>> len(served) < len(page) // 10
    True
    """
    from pyvis.network import Network

    nodes = nodes.reset_index(drop=True).copy()
    nodes["id"] = nodes["id"].astype(str)
    nodes = nodes.drop_duplicates("id")
    label_src = nodes["label"] if "label" in nodes else nodes["id"]
    nodes["label"] = [display_text(v, limit=60) for v in label_src]
    if "title" in nodes:
        nodes["title"] = [display_text(v, limit=2000) for v in nodes["title"]]
    edges = edges.reset_index(drop=True).copy()
    if len(edges):
        edges["source"] = edges["source"].astype(str)
        edges["target"] = edges["target"].astype(str)
        known = set(nodes["id"])
        edges = edges[edges["source"].isin(known) & edges["target"].isin(known)]
    for col in ("title", "label"):
        if col in edges:
            edges[col] = [display_text(v, limit=2000) for v in edges[col]]
    edges = edges.rename(columns={"source": "from", "target": "to"})

    net = Network(
        height=f"{int(height)}px",
        width="100%",
        directed=directed,
        cdn_resources="in_line" if library_url is None else "remote",
    )
    empty = pd.Series([], dtype=str)
    ends = (edges.get("from", empty), edges.get("to", empty))
    tree = hierarchical and len(nodes) > 1 and "level" in nodes
    if hierarchical:
        # Space a level's nodes so the widest level spans ~2,000 px: a wide generation then
        # stays a readable tree instead of a strip; labels only where they fit (tooltips always).
        # Rows are then pulled apart so the picture keeps roughly the canvas's proportions.
        per_level = nodes["level"].value_counts() if "level" in nodes and len(nodes) else None
        widest = int(per_level.max()) if per_level is not None else 1
        levels = len(per_level) if per_level is not None else 1
        spacing = int(min(90, max(18, 2000 / max(widest, 1))))
        separation = int(min(400, max(90, widest * spacing * height / 1400 / max(levels, 1))))
    # Positions are computed here (force_layout, tree_layout), so the browser draws at once:
    # no physics run, no hierarchical layout (a few hundred ms of the browser per visit for a
    # 500-node tree).
    if tree:
        lv = pd.to_numeric(nodes["level"], errors="coerce").fillna(0)
        nodes["x"], nodes["y"] = tree_layout(
            nodes["id"], *ends, lv - lv.min(), spacing=spacing, separation=separation
        )
    elif bool(physics) and not hierarchical and len(nodes) > 1:
        nodes["x"], nodes["y"] = force_layout(nodes["id"], *ends, seed=seed)
    net.nodes = _records(nodes, _NODE_FIELDS)
    net.edges = _records(edges, ("from", "to", "title", "label", "width", "color", "dashes"))
    for e in net.edges:
        if directed:
            e["arrows"] = "to"
    options: dict[str, Any] = {
        "nodes": {"shape": "dot", "font": {"size": 14}},
        "edges": {"smooth": False, "color": {"inherit": False}},
        "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False},
        "layout": {"randomSeed": int(seed), "improvedLayout": False},
        "physics": {"enabled": False},
    }
    if hierarchical:
        if not tree:  # one node, or no levels: vis-network places it
            options["layout"]["hierarchical"] = {
                "enabled": True,
                "direction": "UD",
                "sortMethod": "directed",
                "shakeTowards": "roots",
                "levelSeparation": separation,
                "nodeSpacing": spacing,
                "treeSpacing": spacing * 2,
            }
        if spacing < 60:
            options["nodes"]["font"] = {"size": 0}
    net.options = options
    page = net.generate_html()
    page = _CDN_TAGS.sub("", page)
    if library_url is not None:
        base = html.escape(library_url.rstrip("/"), quote=True)
        tags = (
            f'<link rel="stylesheet" href="{base}/{VIS_FILES[0]}" />\n'
            f'<script src="{base}/{VIS_FILES[1]}"></script>'
        )
        page, swapped = _VIS_REMOTE_TAGS.subn(lambda _m: tags, page)
        if swapped != 1:  # a pyvis whose template changed: fail here, not as a blank frame
            raise RuntimeError("pyvis's template no longer has the vis-network tags to swap")
    # pyvis leaves an empty heading twice; drop it so the canvas starts at the top
    page = page.replace("<center>\n<h1></h1>\n</center>", "")
    page = re.sub(r"<center>\s*<h1></h1>\s*</center>", "", page)
    return page
