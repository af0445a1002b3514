"""The chat sample: what a fork replaces.

``blueprint`` holds every function of the sample: the hub ``chat`` event handlers
(``handlers.py``), ``GET /api/negotiate`` (``negotiate.py``) and the page
(``page.py``). ``function_app.py`` registers it; delete this package and that line
to start from an empty app.
"""

from . import handlers, negotiate, page  # noqa: F401  (registration side effects)
from .app import blueprint, hub

__all__ = ["blueprint", "hub"]
