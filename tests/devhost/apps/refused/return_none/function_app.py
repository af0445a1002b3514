"""Refused by the worker: ``-> None`` on a function whose return value is the HTTP response.

The dev host used to start this app and answer 500 only when ``nothing`` was called; in Azure
none of the app's functions load.
"""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="fine")
def fine(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("fine")


@app.route(route="nothing")
def nothing(req: func.HttpRequest) -> None:
    return None
