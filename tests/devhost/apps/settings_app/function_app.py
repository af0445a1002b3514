"""Fixture app that reads settings at import time, as real apps do."""

import os

import azure.functions as func

GREETING_AT_IMPORT = os.environ.get("DEVHOST_TEST_GREETING", "<unset>")

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="greeting", methods=["GET"])
def greeting(req: func.HttpRequest) -> str:
    return GREETING_AT_IMPORT


@app.route(route="env/{name}", methods=["GET"])
def env(req: func.HttpRequest) -> str:
    return os.environ.get(req.route_params["name"], "<unset>")
