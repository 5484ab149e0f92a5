"""The dashboard's charts: Vega-Lite (Altair) specs, drawn by Streamlit's bundled Vega.

Bars, lines, histograms and the Targets map are Vega-Lite: in a browser tab they draw in about
half the time of the Plotly charts they replaced (Plotly's bundle is ~4.6 MB of JavaScript to
parse in every new tab; measured in `benchmarks/dashboard.py`). Only the Sankey of the Credit
flows page stays Plotly (Vega-Lite has no Sankey).

Text in tooltips and axis labels is passed as written: Vega renders it as text (its tooltip
escapes HTML), so nothing is escaped here (escaping once, where it is rendered).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

# Vega-Lite inlines the data in the spec; keep Altair's row guard off (our frames are small, the
# query layer caps them) rather than fail on a large case.
alt.data_transformers.disable_max_rows()

Spec = dict[str, Any]  # a Vega-Lite spec, data inline


def vega_spec(build: Callable[..., alt.TopLevelMixin]) -> Callable[..., Spec]:
    """``build`` (an Altair chart builder) returning its Vega-Lite spec, cached on the
    arguments: a page run that draws the same chart again (a new tab, a rerun) reuses the spec
    instead of building and validating the Altair chart again (~50–200 ms a chart at 1 M)."""

    @functools.wraps(build)
    def spec(*args: Any, **kwargs: Any) -> Spec:
        return build(*args, **kwargs).to_dict()

    return st.cache_data(max_entries=256, show_spinner=False)(spec)


def _title(title: str | None) -> alt.TitleParams | str:
    return alt.TitleParams(title, anchor="start", fontSize=13) if title else ""


def _rules(
    chart: alt.Chart, *, rule_x: object = None, rule_y: float | None = None, x_type: str = "T"
) -> alt.LayerChart | alt.Chart:
    """``chart`` with a dotted vertical line at ``rule_x`` and/or horizontal one at ``rule_y``."""
    layers: list[alt.Chart] = [chart]
    if rule_x is not None:
        value = pd.Timestamp(rule_x).isoformat() if x_type == "T" else rule_x
        layers.append(
            alt.Chart(pd.DataFrame({"x": [value]}))
            .mark_rule(strokeDash=[4, 4], color="#555")
            .encode(x=alt.X(f"x:{x_type}"))
        )
    if rule_y is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"y": [float(rule_y)]}))
            .mark_rule(strokeDash=[4, 4], color="#555")
            .encode(y="y:Q")
        )
    return alt.layer(*layers) if len(layers) > 1 else chart


@vega_spec
def line(
    data: pd.DataFrame,
    x: str,
    y: str,
    *,
    color: str | None = None,
    dash: str | None = None,
    height: int = 320,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    x_type: str = "T",
    step: bool = False,
    points: bool = False,
    rule_x: object = None,
    rule_y: float | None = None,
) -> alt.Chart | alt.LayerChart:  # a Spec once decorated
    """A line per ``color`` value (``x_type`` ``"T"`` for dates, ``"Q"`` for numbers)."""
    enc = {
        "x": alt.X(f"{x}:{x_type}", title=x if x_title is None else x_title),
        "y": alt.Y(f"{y}:Q", title=y if y_title is None else y_title),
        "tooltip": [c for c in (x, y, color, dash) if c],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N", legend=alt.Legend(orient="bottom", title=None))
    if dash:
        enc["strokeDash"] = alt.StrokeDash(f"{dash}:N", legend=alt.Legend(orient="bottom"))
    mark = alt.Chart(data).mark_line(interpolate="step-after" if step else "linear", point=points)
    chart = mark.encode(**enc).properties(height=height, title=_title(title))
    return _rules(chart, rule_x=rule_x, rule_y=rule_y, x_type=x_type)


@vega_spec
def bar(
    data: pd.DataFrame,
    category: str,
    value: str,
    *,
    color: str | None = None,
    grouped: bool = False,
    horizontal: bool = False,
    order: Sequence[str] | None = None,
    tooltip: Sequence[str] = (),
    height: int = 300,
    title: str | None = None,
    category_type: str = "N",
) -> alt.Chart:
    """Bars of ``value`` per ``category``, stacked by ``color`` (side by side when ``grouped``);
    ``order`` fixes the category order (default: as in ``data``)."""
    sort = list(order) if order is not None else None
    cat = alt.X if not horizontal else alt.Y
    val = alt.Y if not horizontal else alt.X
    enc = {
        ("y" if horizontal else "x"): cat(f"{category}:{category_type}", sort=sort, title=category),
        ("x" if horizontal else "y"): val(
            f"{value}:Q", title=value, stack=None if grouped else "zero"
        ),
        "tooltip": [c for c in (category, value, color, *tooltip) if c],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N", legend=alt.Legend(orient="bottom"))
        if grouped:
            offset = alt.YOffset if horizontal else alt.XOffset
            enc["yOffset" if horizontal else "xOffset"] = offset(f"{color}:N")
    return alt.Chart(data).mark_bar().encode(**enc).properties(height=height, title=_title(title))


@vega_spec
def histogram(
    data: pd.DataFrame, x: str, *, bins: int = 20, height: int = 300, x_title: str | None = None
) -> alt.Chart:
    """Counts of ``x`` in about ``bins`` bins."""
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:Q", bin=alt.Bin(maxbins=bins), title=x_title or x),
            y=alt.Y("count():Q", title="count"),
            tooltip=[alt.Tooltip("count():Q", title="count")],
        )
        .properties(height=height)
    )


def show(spec: Spec, key: str, where: object = None) -> None:
    """Draw ``spec`` (from a :func:`vega_spec` builder) full width in ``where`` (a column or
    container; default the page)."""
    (where or st).vega_lite_chart(spec=spec, key=key, width="stretch")
