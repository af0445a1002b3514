"""Blueprint of the basic fixture app: route parameters and constraints."""

import json

import azure.functions as func

bp = func.Blueprint()


def _params(req: func.HttpRequest, which: str) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"which": which, **req.route_params}), mimetype="application/json")


@bp.route(route="items/{id:int}", methods=["GET"])
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return _params(req, "int")


@bp.route(route="items/{name:alpha}", methods=["GET"])
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return _params(req, "alpha")


@bp.route(route="items/latest", methods=["GET"])
def item_latest(req: func.HttpRequest) -> func.HttpResponse:
    return _params(req, "literal")


@bp.route(route="files/{*path}", methods=["GET"])
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _params(req, "catch-all")


@bp.route(route="guid/{g:guid}", methods=["GET"])
def by_guid(req: func.HttpRequest) -> func.HttpResponse:
    return _params(req, "guid")


@bp.route(route="code/{c:regex(^[a-z]{{3}}$)}", methods=["GET"])
def by_code(req: func.HttpRequest) -> func.HttpResponse:
    return _params(req, "regex")


@bp.route(route="optional/{x?}", methods=["GET"])
def optional(req: func.HttpRequest) -> func.HttpResponse:
    return _params(req, "optional")
