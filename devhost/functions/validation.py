"""The Python worker's index-time checks, so the dev host refuses at start what Azure refuses.

When the Functions host starts a Python v2 app, the worker (``azure-functions-runtime``) imports
``function_app``, calls ``get_functions()`` and then checks every function's signature against its
bindings. One failing function stops the **whole app** from loading, with a message such as::

    cannot load the broken function: Python return annotation "NoneType" does not match binding type "http"

``validate_function`` makes the same checks, in the same order and with the same wording:

1. binding directions: no ``inout``; ``$return`` must be ``out``;
2. a ``context`` parameter not bound to anything must be annotated ``func.Context`` (or not at all);
3. every parameter is bound and every binding has a parameter;
4. per parameter: ``func.Out[...]`` exactly on ``out`` bindings, annotations are types, and the
   type fits the binding (``func.HttpRequest`` for an HTTP trigger, ...);
5. the return annotation fits the ``$return`` binding (``func.HttpResponse`` or ``str`` for HTTP)
   and is a type: ``-> None`` or ``-> func.HttpResponse | None`` is refused.

Type checks use the converters ``azure.functions`` registers, as the worker does. Bindings that
package does not know (third-party extensions) and SDK-type ("deferred") bindings are not
type-checked here, and the Service Bus settlement-client parameter is accepted as the worker
does; the dev host does not run those triggers anyway. ``tests/runtime`` runs the genuine worker
code on the same fixture apps and compares the messages.
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from collections.abc import Iterable
from typing import Any

import azure.functions as func

from .errors import DiscoveryError

RETURN = "$return"
CONTEXT = "context"
_OUT, _INOUT = 1, 2  # azure.functions BindingDirection values, as the worker compares them
_UNDEFINED_DATA_TYPE = 0
_NOT_GENERIC = (typing.Union, tuple, typing.ClassVar, collections.abc.Callable)


class FunctionLoadError(DiscoveryError):
    """A function fails the worker's checks; Azure would load none of the app's functions."""

    def __init__(self, function_name: str, message: str) -> None:
        # The worker's wording, word for word, so a search for the Azure error finds this one too.
        super().__init__("cannot load the " + function_name + " function: " + message)


def validate_functions(functions: Iterable[Any]) -> None:
    """Check every indexed function; raise for the first that the worker would refuse.

    Raises:
        FunctionLoadError: with the worker's message.
    """
    for function in functions:
        validate_function(function)


def validate_function(function: Any) -> None:
    """Run the worker's checks on one ``azure.functions`` ``Function`` (from ``get_functions()``)."""
    user_function = function.get_user_function()
    name = function.get_function_name() or user_function.__name__
    params = dict(inspect.signature(user_function).parameters)
    annotations = typing.get_type_hints(user_function)

    bound: dict[str, Any] = {}
    explicit_return = False
    return_binding_type = ""  # the $return binding's type, else the last implicit output's
    for binding in function.get_bindings():
        if binding.direction == _INOUT:
            raise FunctionLoadError(name, '"inout" bindings are not supported')
        if binding.name == RETURN and binding.direction != _OUT:
            raise FunctionLoadError(name, '"$return" binding must have direction set to "out"')
        if binding.name == RETURN:
            if not explicit_return:
                return_binding_type = binding.type
            explicit_return = True
            continue
        bound[binding.name] = binding
        if not explicit_return and _has_implicit_output(binding.type):
            return_binding_type = binding.type

    if CONTEXT in params and CONTEXT not in bound:
        params.pop(CONTEXT)
        if CONTEXT in annotations:
            context_annotation = annotations[CONTEXT]
            if not isinstance(context_annotation, type) or context_annotation.__name__ != "Context":
                raise FunctionLoadError(
                    name,
                    'the "context" parameter is expected to be of type azure.functions.Context, got "'
                    + repr(context_annotation)
                    + '"',
                )

    _check_parameters(name, params, bound, annotations)
    if explicit_return and "return" in annotations:
        _check_return(name, annotations["return"], return_binding_type)


def _check_parameters(
    name: str, params: dict[str, inspect.Parameter], bound: dict[str, Any], annotations: dict[str, Any]
) -> None:
    unbound = set(params) - set(bound)
    if unbound and not _is_settlement_client(unbound, annotations):
        raise FunctionLoadError(
            name,
            "the following parameters are declared in Python but not in the function definition "
            f"(function.json or function decorators):  {unbound!r}",
        )
    params = {key: value for key, value in params.items() if key in bound}
    extra = set(bound) - set(params)
    if extra:
        raise FunctionLoadError(
            name,
            "Extra parameters in binding definition — the following parameters are declared as "
            "bindings but are not present in Python: " + repr(extra),
        )
    for param_name in params:
        binding = bound[param_name]
        if param_name not in annotations:
            continue
        annotation = annotations[param_name]
        is_out = _is_out(annotation)
        py_type = annotation
        if is_out:
            args = typing.get_args(annotation)
            if len(args) != 1:
                raise FunctionLoadError(
                    name, "binding " + param_name + " has invalid Out annotation " + repr(annotation)
                )
            py_type = args[0]
        if not isinstance(py_type, type) and not _is_generic(py_type):
            raise FunctionLoadError(
                name, "binding " + param_name + " has invalid non-type annotation " + repr(annotation)
            )
        binding_is_out = binding.direction == _OUT
        if binding_is_out and not is_out:
            raise FunctionLoadError(
                name,
                "binding " + param_name + ' is declared to have the "out" direction, but its annotation'
                " in Python is not a subclass of azure.functions.Out",
            )
        if not binding_is_out and is_out:
            raise FunctionLoadError(
                name,
                "binding " + param_name + ' is declared to have the "in" direction in the binding'
                " decorator, but its annotation is azure.functions.Out in Python",
            )
        binding_type = binding.type
        if py_type in (str, bytes) and not _has_implicit_output(binding.type):
            binding_type = "generic"
        converter = _converter(binding_type)
        if converter is None:
            continue  # not known to azure.functions: the worker's generic binding, not checked here
        fits = (
            converter.check_output_type_annotation(py_type)
            if is_out
            else converter.check_input_type_annotation(py_type)
        )
        if fits:
            continue
        type_name = getattr(py_type, "__name__", repr(py_type))
        # The worker compares with "is not" against the proto's 0, so None takes this branch too.
        if binding.data_type is None or binding.data_type != _UNDEFINED_DATA_TYPE:
            raise FunctionLoadError(
                name,
                'binding type "' + repr(param_name) + '" and dataType "' + binding.type + '" in the binding'
                " decorator do not match the corresponding function parameter's Python type"
                " annotation " + type_name,
            )
        raise FunctionLoadError(
            name,
            "type of "
            + param_name
            + ' binding in the binding decorator "'
            + binding.type
            + '" does not match its Python annotation "'
            + type_name
            + '"',
        )


def _check_return(name: str, annotation: Any, binding_type: str) -> None:
    if _is_out(annotation):
        raise FunctionLoadError(name, "return annotation should not be azure.functions.Out")
    if not isinstance(annotation, type):
        raise FunctionLoadError(name, "has invalid non-type return annotation " + repr(annotation))
    converter = _converter(binding_type)
    if converter is not None and not converter.check_output_type_annotation(annotation):
        raise FunctionLoadError(
            name,
            'Python return annotation "'
            + annotation.__name__
            + '" does not match binding type "'
            + binding_type
            + '"',
        )


def _converter(binding_type: str) -> Any:
    registry = func.get_binding_registry()
    return registry.get(binding_type) if registry is not None else None


def _has_implicit_output(binding_type: str) -> bool:
    converter = _converter(binding_type)
    return bool(converter is not None and getattr(converter, "has_implicit_output", lambda: False)())


def _is_out(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    target = origin if origin is not None else annotation
    return isinstance(target, type) and target.__name__ == "Out"


def _is_generic(annotation: Any) -> bool:
    # The worker's test: a typing generic such as List[int] or func.Out[str], but not a Union,
    # Tuple, ClassVar or Callable, and not a builtin alias such as list[int] or int | None.
    if isinstance(annotation, type):
        return issubclass(annotation, typing.Generic)  # type: ignore[arg-type]
    aliases = (typing._GenericAlias, typing._SpecialGenericAlias)  # type: ignore[attr-defined]
    return isinstance(annotation, aliases) and annotation.__origin__ not in _NOT_GENERIC


def _is_settlement_client(unbound: set[str], annotations: dict[str, Any]) -> bool:
    # The worker lets one unbound parameter through when it is the Service Bus settlement client.
    if len(unbound) != 1:
        return False
    annotation = annotations.get(next(iter(unbound)))
    return getattr(annotation, "__name__", "") == "ServiceBusMessageActions"
