"""graphintel.netviz: pyvis HTML with inline resources and every data string escaped."""

from __future__ import annotations

import json
import re

import pandas as pd

from graphintel.netviz import category_colors, escape_text, generate_html, scale_sizes

PAYLOAD = "<img src=x onerror=alert(1)>"


def _data(page: str, name: str) -> list[dict]:
    m = re.search(rf"{name} = new vis\.DataSet\((.*?)\);\n", page, re.DOTALL)
    assert m, name
    return json.loads(m.group(1))


def test_labels_and_titles_are_escaped_once_and_never_raw():
    nodes = pd.DataFrame(
        {"id": [PAYLOAD, "b"], "label": [PAYLOAD, "ok"], "title": [f"room {PAYLOAD}", None]}
    )
    edges = pd.DataFrame({"source": [PAYLOAD], "target": ["b"], "title": [PAYLOAD]})
    page = generate_html(nodes, edges)
    assert PAYLOAD not in page  # ids too travel only as escaped JSON
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page  # JSON-escaped, once
    data = _data(page, "nodes")
    assert data[0]["label"] == PAYLOAD  # shown as text on the canvas, as written
    assert data[0]["title"] == f"room {PAYLOAD}"  # vis-network sets it with innerText
    assert data[0]["id"] == PAYLOAD  # an id is data, not markup
    assert "title" not in data[1]
    e = _data(page, "edges")
    assert e == [{"from": PAYLOAD, "to": "b", "title": PAYLOAD}]


def test_titles_show_as_written():
    page = generate_html(pd.DataFrame({"id": ["a"], "label": ["R&D"]}), pd.DataFrame())
    assert _data(page, "nodes")[0]["label"] == "R&D"
    assert "R&amp;D" not in page


def test_resources_inline_no_network():
    page = generate_html(pd.DataFrame({"id": ["a"]}), pd.DataFrame(columns=["source", "target"]))
    assert "vis.Network" in page and "vis-network" not in re.findall(r'src="([^"]+)"', page)
    assert not re.findall(r'(?:src|href)="https?://', page)


def test_library_url_loads_the_shipped_vis_network_and_keeps_the_data_inline():
    from pathlib import Path

    import pyvis

    from graphintel.netviz import VIS_FILES

    nodes = pd.DataFrame({"id": ["a", "b"], "label": [PAYLOAD, "R&D"]})
    edges = pd.DataFrame({"source": ["a"], "target": ["b"]})
    page = generate_html(nodes, edges, library_url="/app/static/")
    markup = re.sub(r"<!--.*?-->", "", page, flags=re.DOTALL)  # the template's own comments
    refs = re.findall(r'(?:src|href)="([^"]+)"', markup)
    assert refs == ["/app/static/vis-network.css", "/app/static/vis-network.min.js"]
    assert "cdnjs" not in page and PAYLOAD not in page
    assert _data(page, "nodes")[0]["label"] == PAYLOAD  # the data still travels as JSON
    # the dashboard serves the same vis-network files pyvis inlines (a pyvis upgrade that
    # changes them must change dashboards/static too)
    shipped = Path(__file__).parents[1] / "dashboards" / "static"
    lib = Path(pyvis.__file__).parent / "templates" / "lib" / "vis-9.1.2"
    for name in VIS_FILES:
        assert (shipped / name).read_bytes() == (lib / name).read_bytes(), name


def test_edges_to_unknown_nodes_are_dropped_and_options_applied():
    nodes = pd.DataFrame({"id": ["a", "b"], "level": [0, 1], "size": [10.0, float("nan")]})
    edges = pd.DataFrame({"source": ["a", "a"], "target": ["b", "zz"]})
    page = generate_html(nodes, edges, directed=True, hierarchical=True)
    assert _data(page, "edges") == [{"from": "a", "to": "b", "arrows": "to"}]
    n = _data(page, "nodes")
    # the tree is laid out here (Reingold–Tilford): b one row below a, straight under it
    assert n[0] == {"id": "a", "label": "a", "level": 0, "size": 10.0, "x": 0.0, "y": 0.0}
    assert "size" not in n[1] and n[1]["x"] == 0.0 and n[1]["y"] > 0
    assert '"hierarchical": {' not in page and '"physics": {"enabled": false}' in page


def test_tree_layout_keeps_rows_and_separates_siblings():
    from graphintel.netviz import tree_layout

    # r → a, b; a → c, d; plus a separate two-node tree s → t
    ids = pd.Series(["r", "a", "b", "c", "d", "s", "t"])
    src = pd.Series(["r", "r", "a", "a", "s"])
    dst = pd.Series(["a", "b", "c", "d", "t"])
    x, y = tree_layout(ids, src, dst, pd.Series([0, 1, 1, 2, 2, 0, 1]), separation=100)
    assert y.tolist() == [0, 100, 100, 200, 200, 0, 100]
    pos = dict(zip(ids, zip(x, y)))
    assert len(set(zip(x.tolist(), y.tolist()))) == 7  # no two nodes on one spot
    assert min(pos["c"][0], pos["d"][0]) < pos["a"][0] < max(pos["c"][0], pos["d"][0])


def test_helpers():
    assert escape_text("a & b's <c>") == "a &amp; b's &lt;c&gt;"
    assert category_colors(["x", "y", "x", None]) == ["#1f77b4", "#ff7f0e", "#1f77b4", "#b0b0b0"]
    assert scale_sizes([0, 0]).tolist() == [8.0, 8.0]
    assert scale_sizes([1, 4], lo=0, hi=10).tolist() == [5.0, 10.0]
