"""The chat sample: what a fork replaces.

``blueprint`` holds every function of the sample: the hub ``chat`` event handlers
(``handlers.py``: connections and messages; ``room_events.py``: rooms, DMs, membership;
``message_events.py``: edits, deletes, reactions, read markers), ``GET /api/negotiate``
(``negotiate.py``) and the page (``page.py``). ``function_app.py`` registers it; delete this
package and that line to start from an empty app. The client contract:
docs/chat-protocol.md.
"""

from . import handlers, message_events, negotiate, page, room_events  # noqa: F401  (registration side effects)
from .app import blueprint, hub

__all__ = ["blueprint", "hub"]
