"""Refused by the worker: the HTTP output goes to a parameter not annotated ``func.Out``."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="out", binding_arg_name="res")
def out(req: func.HttpRequest, res: func.HttpResponse) -> None:
    return None
