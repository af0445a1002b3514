"""Fixture app with a custom route prefix in host.json."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(methods=["GET"])
def ping(req: func.HttpRequest) -> str:
    return "pong"


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
def tick(timer: func.TimerRequest) -> None:
    return None
