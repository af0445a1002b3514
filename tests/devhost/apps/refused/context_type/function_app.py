"""Refused by the worker: ``context`` must be annotated ``func.Context``."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="ctx")
def ctx(req: func.HttpRequest, context: str) -> str:
    return context
