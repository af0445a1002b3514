"""Refused by the worker: a union return annotation is not a type."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="maybe")
def maybe(req: func.HttpRequest) -> str | None:
    return None
