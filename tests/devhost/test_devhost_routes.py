"""Route templates, constraints and route-table order, without a server."""

from __future__ import annotations

import pytest

from devhost.functions.discovery import HttpFunction
from devhost.functions.route_table import RouteTable
from devhost.functions.routes import RouteTemplateError, compile_route


def _function(name: str, route: str, methods: set[str] | None = None) -> HttpFunction:
    return HttpFunction(
        name=name,
        route=route,
        methods=frozenset(methods) if methods is not None else None,
        auth_level="anonymous",
        trigger_arg="req",
        output_arg=None,
        user_function=lambda req: None,
        is_async=False,
        wants_context=False,
    )


def test_literals_match_case_insensitively_and_ignore_one_trailing_slash():
    route = compile_route("api/Chat/Connect")
    assert route.match("/API/chat/CONNECT") == {}
    assert route.match("/api/chat/connect/") == {}
    assert route.match("/api/chat/connect/x") is None
    assert route.match("/api/chat") is None


@pytest.mark.parametrize(
    ("constraint", "accepted", "refused"),
    [
        ("int", ["42", "-7", "2147483647"], ["4x", "2147483648", "1.5", ""]),
        ("long", ["9223372036854775807"], ["9223372036854775808", "abc"]),
        ("alpha", ["abc", "XyZ"], ["ab1", "é"]),
        ("bool", ["true", "FALSE"], ["yes", "1"]),
        (
            "guid",
            [
                "6f9619ff-8b86-d011-b42d-00c04fc964ff",
                "6F9619FF8B86D011B42D00C04FC964FF",
                "{6f9619ff-8b86-d011-b42d-00c04fc964ff}",
            ],
            ["6f9619ff-8b86-d011-b42d", "zz"],
        ),
        ("double", ["1.5", "-2", "1e3", "1,000.25"], ["abc", "1.2.3", "."]),
        ("minlength(3)", ["abc", "abcd"], ["ab"]),
        ("maxlength(3)", ["a", "abc"], ["abcd"]),
        ("length(2,3)", ["ab", "abc"], ["a", "abcd"]),
        ("range(1,10)", ["1", "10"], ["0", "11", "x"]),
        ("regex(^\\d{{3}}$)", ["123"], ["1234", "12a"]),
    ],
)
def test_constraints_accept_and_refuse_values(constraint, accepted, refused):
    route = compile_route(f"v/{{value:{constraint}}}")
    for value in accepted:
        assert route.match(f"/v/{value}") == {"value": value}, value
    for value in refused:
        assert route.match(f"/v/{value}") is None, value


def test_regex_constraint_is_unanchored_and_case_insensitive_like_aspnet():
    route = compile_route("v/{value:regex(ab)}")
    assert route.match("/v/xxABxx") == {"value": "xxABxx"}
    assert route.match("/v/xyz") is None


def test_several_constraints_must_all_hold():
    route = compile_route("v/{value:alpha:minlength(2)}")
    assert route.match("/v/ab") == {"value": "ab"}
    assert route.match("/v/a") is None
    assert route.match("/v/a1") is None


def test_optional_and_default_parameters_may_be_missing():
    assert compile_route("opt/{x?}").match("/opt") == {}
    assert compile_route("opt/{x?}").match("/opt/1") == {"x": "1"}
    assert compile_route("def/{x=7}").match("/def") == {"x": "7"}
    assert compile_route("def/{x=7}").match("/def/8") == {"x": "8"}


def test_catch_all_takes_the_rest_of_the_path_decoded():
    route = compile_route("files/{*path}")
    assert route.match("/files/a/b%20c/d") == {"path": "a/b c/d"}
    assert route.match("/files") == {}


def test_encoded_slash_stays_inside_one_segment():
    assert compile_route("u/{name}").match("/u/a%2Fb") == {"name": "a/b"}


def test_complex_segment_splits_like_aspnet_from_the_right():
    assert compile_route("f/{name}.{ext}").match("/f/archive.tar.gz") == {"name": "archive.tar", "ext": "gz"}


def test_empty_template_matches_only_the_root():
    assert compile_route("").match("/") == {}
    assert compile_route("").match("/x") is None


@pytest.mark.parametrize(
    "template",
    [
        "a/{x?}/b",
        "a/{*x}/b",
        "a/{x}{y}",
        "a/{x:nope}",
        "a/{x",
        "a/x}",
        "a/{x}/{X}",
        "a//b",
        "a/{x:minlength(z)}",
        "a/{x:regex(()}",
    ],
)
def test_malformed_templates_are_refused(template):
    with pytest.raises(RouteTemplateError):
        compile_route(template)


def test_table_prefers_literal_then_constrained_then_plain_parameter():
    table = RouteTable.build(
        [
            _function("plain", "items/{x}"),
            _function("typed", "items/{x:int}"),
            _function("literal", "items/new"),
        ],
        "api",
    )
    assert table.resolve("GET", "/api/items/new").function.name == "literal"
    assert table.resolve("GET", "/api/items/5").function.name == "typed"
    assert table.resolve("GET", "/api/items/five").function.name == "plain"


def test_table_falls_through_to_another_function_when_the_method_differs():
    table = RouteTable.build(
        [_function("reader", "things", {"GET"}), _function("writer", "things", {"POST", "PUT"})], "api"
    )
    assert table.resolve("get", "/api/things").function.name == "reader"
    assert table.resolve("PUT", "/api/things").function.name == "writer"
    assert table.resolve("DELETE", "/api/things") is None


def test_table_names_the_function_whose_route_is_malformed():
    with pytest.raises(RouteTemplateError, match="'broken'"):
        RouteTable.build([_function("broken", "x/{y:nope}")], "api")


def test_empty_prefix_puts_routes_at_the_root():
    table = RouteTable.build([_function("ping", "ping")], "")
    assert table.resolve("GET", "/ping").route_params == {}
    assert table.resolve("GET", "/api/ping") is None
