"""Refused by the worker: the HTTP trigger parameter must be a ``func.HttpRequest``."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="text")
def text(req: int) -> str:
    return "text"
