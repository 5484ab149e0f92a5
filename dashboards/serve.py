"""Start the Streamlit server with the dashboard's heavy modules already imported.

``graphintel dashboard`` runs ``python -m dashboards.serve run dashboards/app.py …`` instead of
``python -m streamlit run …``: the same Streamlit command line, but pandas, DuckDB, Arrow,
igraph, Altair, pyvis and graphintel's query layer are imported while the server starts,
not during the first visitor's first page (about a second of the first render otherwise).
"""

from __future__ import annotations

import sys


def preload() -> None:
    """Import what every page run needs (modules only: no store is opened here)."""
    import altair  # noqa: F401
    import duckdb  # noqa: F401
    import igraph  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    import pyvis.network  # noqa: F401

    import graphintel.dataset
    import graphintel.netviz
    import graphintel.views  # noqa: F401


def main() -> int:
    preload()
    from streamlit.web.cli import main as streamlit_main

    # the same prog_name as `python -m streamlit`, so the server sees the same command line
    streamlit_main(prog_name="streamlit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
