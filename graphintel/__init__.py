"""graphintel: chat-ecosystem graph analysis for investigators.

The library ranks and explains; it never labels anyone guilty.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
