"""Call a user function the way the Python worker does.

``async def`` functions run on the event loop; plain functions run in a thread pool, so a blocking
function does not stall other requests. The request goes to the parameter named by the trigger
binding (``req`` unless ``trigger_arg_name`` says otherwise), a ``context`` parameter gets a small
``func.Context``, and an HTTP output binding other than ``$return`` gets a ``func.Out``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
import uuid
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import azure.functions as func

from .discovery import HttpFunction

# The worker's own knob for its pool size; unset means Python's default for ThreadPoolExecutor.
THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"


class InvocationContext(func.Context):
    """The ``context`` argument: ids and names only; trace and retry contexts are empty."""

    def __init__(self, *, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._thread_local = threading.local()
        self._thread_local.invocation_id = invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


class OutputValue(func.Out[Any]):
    """A ``func.Out`` that just keeps the value the function sets."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


def new_invocation_id() -> str:
    return str(uuid.uuid4())


def create_executor() -> ThreadPoolExecutor:
    """The pool for sync functions, sized by ``PYTHON_THREADPOOL_THREAD_COUNT`` when set."""
    configured = os.environ.get(THREAD_COUNT_SETTING, "")
    workers = int(configured) if configured.isdigit() and int(configured) > 0 else None
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="devhost-function")


async def invoke(
    function: HttpFunction,
    request: func.HttpRequest,
    *,
    invocation_id: str,
    function_directory: str,
    executor: Executor,
) -> object:
    """Run ``function`` with ``request`` and return what it produced for the HTTP output.

    Any exception from the user function propagates unchanged.
    """
    kwargs: dict[str, Any] = {function.trigger_arg: request}
    if function.wants_context:
        kwargs["context"] = InvocationContext(
            invocation_id=invocation_id, function_name=function.name, function_directory=function_directory
        )
    output = OutputValue() if function.output_arg else None
    if function.output_arg and output is not None:
        kwargs[function.output_arg] = output
    if function.is_async:
        result = await function.user_function(**kwargs)
    else:
        # Copy contextvars into the thread, as asyncio.to_thread does.
        call = functools.partial(contextvars.copy_context().run, function.user_function, **kwargs)
        result = await asyncio.get_running_loop().run_in_executor(executor, call)
    return output.get() if output is not None else result
