"""Index a ``func.FunctionApp`` the way the worker does, any number of times.

``FunctionApp.get_functions()`` remembers the names it has seen and raises on a second
call (azure-functions 1.x), so every test that lists an app goes through here.
"""

from __future__ import annotations

import azure.functions as func


def get_functions(app: func.FunctionApp) -> list[func.Function]:
    app.functions_bindings = None  # forget the previous indexing pass
    return app.get_functions()
