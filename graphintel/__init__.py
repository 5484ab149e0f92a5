"""graphintel: chat-ecosystem graph analysis for investigators.

The library ranks and explains; it never labels anyone guilty. ``graphintel.open(uri)`` opens a
:class:`graphintel.dataset.Dataset`, the query layer the dashboard uses (see the README's
"Python API"); importing ``graphintel`` itself loads nothing heavy.
"""

from typing import Any

__all__ = ["__version__", "open"]
__version__ = "0.1.0"


def open(uri: str, settings: Any = None, **options: Any) -> Any:
    """Open a :class:`graphintel.dataset.Dataset` on the store ``uri`` names
    (:func:`graphintel.dataset.open`)."""
    from graphintel.dataset import open as _open

    return _open(uri, settings, **options)
