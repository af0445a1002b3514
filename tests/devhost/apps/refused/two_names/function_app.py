"""Refused by the worker: two module-level names for function apps (here, the same one)."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
application = app


@app.route(route="hello")
def hello(req: func.HttpRequest) -> str:
    return "hello"
