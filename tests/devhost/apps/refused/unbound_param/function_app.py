"""Refused by the worker: a parameter that no binding fills."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="extra")
def extra(req: func.HttpRequest, limit: int) -> str:
    return str(limit)
