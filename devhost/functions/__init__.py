"""Functions dev host: serves the HTTP triggers of a Python v2 ``func.FunctionApp`` on aiohttp.

A stand-in for ``func start`` when Core Tools cannot be installed. One module per step:

* ``settings``     local.settings.json -> os.environ (environment wins, as with func start)
* ``host_config``  host.json -> route prefix, per-instance concurrency limit
* ``discovery``    import the app, list its functions through the azure.functions registry
* ``validation``   the Python worker's index-time checks: refuse at start what Azure refuses
* ``concurrency``  at most N invocations at once, the rest wait (Flex's perInstanceConcurrency)
* ``constraints``, ``routes``, ``route_table``  route templates -> matching function
* ``body_limit``   FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: 413 before a large body is read
* ``conversion``   aiohttp request <-> func.HttpRequest / func.HttpResponse
* ``invocation``   call the user function (async on the loop, sync in a thread pool)
* ``app``          ``create_app``: the aiohttp application
* ``server``       ``start_host`` / ``running_host``: run it in the current event loop
"""

from .app import MAX_BODY_BYTES, create_app
from .server import RunningHost, format_function_list, running_host, start_host

__all__ = [
    "MAX_BODY_BYTES",
    "RunningHost",
    "create_app",
    "format_function_list",
    "running_host",
    "start_host",
]
