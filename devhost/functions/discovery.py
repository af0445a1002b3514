"""Find the functions of an app through the ``azure.functions`` registry API.

Nothing here parses source files: the app module is imported and its one ``FunctionRegister``
(a ``func.FunctionApp``, or an ``AsgiFunctionApp``/``WsgiFunctionApp``, which share that base) is
asked for its functions with ``get_functions()``. That call keeps state in the app object and
refuses a second call, so ``import_app_module`` executes the module afresh each time.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from .errors import DiscoveryError
from .validation import validate_functions

__all__ = [
    "DiscoveryError",
    "HttpFunction",
    "OtherFunction",
    "discover_functions",
    "find_function_register",
    "import_app_module",
]

logger = logging.getLogger(__name__)

HTTP_TRIGGER = "httpTrigger"
HTTP_OUTPUT = "http"
RETURN_BINDING = "$return"
CONTEXT_PARAMETER = "context"


@dataclass(frozen=True, kw_only=True)
class HttpFunction:
    """An HTTP-triggered function, with what the dev host needs to route to it and call it."""

    name: str
    route: str
    methods: frozenset[str] | None  # None: every method
    auth_level: str
    trigger_arg: str  # parameter that receives the func.HttpRequest, usually "req"
    output_arg: str | None  # parameter of a func.Out for the response; None: the return value
    user_function: Callable[..., Any]
    is_async: bool
    wants_context: bool

    @property
    def method_list(self) -> str:
        return ",".join(sorted(self.methods)) if self.methods is not None else "*"


@dataclass(frozen=True)
class OtherFunction:
    """A function with a non-HTTP trigger, which this dev host cannot run."""

    name: str
    trigger_type: str


def import_app_module(app_dir: Path, module: str = "function_app") -> ModuleType:
    """Import ``module`` from ``app_dir`` (put first on ``sys.path``), executing it afresh."""
    directory = str(app_dir.resolve())
    if directory in sys.path:
        sys.path.remove(directory)
    sys.path.insert(0, directory)
    sys.modules.pop(module, None)
    importlib.invalidate_caches()
    return importlib.import_module(module)


def find_function_register(module: ModuleType) -> func.FunctionRegister:
    """Return the module's one function app instance, found by type, as the Python worker does.

    Raises:
        DiscoveryError: none, or more than one module-level name holding one (the worker refuses
            both, even two names for the same instance); the worker's wording.
    """
    found: func.FunctionRegister | None = None
    for name in dir(module):
        value = getattr(module, name, None)
        if not isinstance(value, func.FunctionRegister):
            continue
        if found is not None:
            kind = found.__class__.__name__
            raise DiscoveryError(
                f"More than one {kind} or other top level function app instances are defined."
            )
        found = value
    if found is None:
        raise DiscoveryError(f"Could not find top level function app instances in {module.__name__}.py.")
    return found


def discover_functions(register: func.FunctionRegister) -> tuple[list[HttpFunction], list[OtherFunction]]:
    """Call ``get_functions()`` once, refuse the app as the worker would, and describe each function.

    Raises:
        FunctionLoadError: a function fails the worker's index-time checks (``validation``).
    """
    http_functions: list[HttpFunction] = []
    others: list[OtherFunction] = []
    functions = register.get_functions()
    validate_functions(functions)
    for function in functions:
        name = function.get_function_name() or function.get_user_function().__name__
        trigger = function.get_trigger()
        if not function.is_http_function() or trigger is None:
            others.append(OtherFunction(name, _trigger_type(function, trigger)))
            continue
        http_functions.append(_describe_http(function, name, trigger))
    return http_functions, others


def _describe_http(function: Any, name: str, trigger: Any) -> HttpFunction:
    user_function = function.get_user_function()
    output_arg = None
    for binding in function.get_bindings():
        if binding.get_binding_name() == HTTP_OUTPUT and binding.name != RETURN_BINDING:
            output_arg = binding.name
    methods = None
    if trigger.methods:
        methods = frozenset(_text(method).upper() for method in trigger.methods)
    return HttpFunction(
        name=name,
        route=trigger.route if trigger.route is not None else name,
        methods=methods,
        auth_level=_text(trigger.auth_level) if trigger.auth_level is not None else "function",
        trigger_arg=trigger.name,
        output_arg=output_arg,
        user_function=user_function,
        is_async=inspect.iscoroutinefunction(user_function),
        wants_context=CONTEXT_PARAMETER in inspect.signature(user_function).parameters,
    )


def _trigger_type(function: Any, trigger: Any) -> str:
    # Generic triggers report None as binding name; their type is only in the function.json view.
    if trigger is None:
        return "none"
    for binding in function.get_bindings_dict().get("bindings", []):
        if binding.get("name") == trigger.name and binding.get("type"):
            return str(binding["type"])
    return str(trigger.get_binding_name())


def _text(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)
