from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

import azure.functions as func
import pytest

from tests.adapter import hub_app
from tests.app_index import get_functions
from tests.upstream_requests import CONNECTION_STRING

Invoke = Callable[[str, func.HttpRequest], func.HttpResponse]


def invoker(app: func.FunctionApp) -> Invoke:
    """Call a registered function the way the worker does: by name, with a real HttpRequest."""
    functions = {f.get_function_name(): f.get_user_function() for f in get_functions(app)}

    def invoke(name: str, request: func.HttpRequest) -> func.HttpResponse:
        user_function = functions[name]
        if inspect.iscoroutinefunction(user_function):
            return asyncio.run(user_function(request))
        return user_function(request)

    return invoke


@pytest.fixture
def app() -> func.FunctionApp:
    return hub_app.build({"WebPubSubConnectionString": CONNECTION_STRING})


@pytest.fixture
def invoke(app: func.FunctionApp) -> Invoke:
    return invoker(app)
