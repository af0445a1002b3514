"""Fixture app for the dev host tests: app-level functions plus a blueprint."""

import asyncio
import json
import threading

import azure.functions as func
from basic_blueprint import bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(bp)


@app.route()  # no route: the function name; no methods: every method
def hello(req: func.HttpRequest) -> str:
    return "hello"


@app.route(route="inspect/{kind}", methods=["GET", "POST"])
def inspect(req: func.HttpRequest) -> func.HttpResponse:
    seen = {
        "method": req.method,
        "url": req.url,
        "headers": dict(req.headers),
        "params": dict(req.params),
        "route_params": dict(req.route_params),
    }
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")


@app.route(route="echo", methods=[func.HttpMethod.POST])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.get_body(), mimetype="application/octet-stream")


@app.route(route="thread/sync", methods=["GET"])
def thread_sync(req: func.HttpRequest) -> str:
    return threading.current_thread().name


@app.route(route="thread/async", methods=["GET"])
async def thread_async(req: func.HttpRequest) -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


_BARRIER = threading.Barrier(2)


@app.route(route="rendezvous", methods=["GET"])
def rendezvous(req: func.HttpRequest) -> str:
    # Two concurrent calls only both return "met" if they run in different threads.
    try:
        _BARRIER.wait(timeout=5)
    except threading.BrokenBarrierError:
        _BARRIER.reset()
        return "alone"
    return "met"


@app.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("internal detail: db password is hunter2")


@app.route(route="nothing", methods=["GET"])
def nothing(req: func.HttpRequest):  # type: ignore[no-untyped-def]  # "-> None" would not load at all
    return None


@app.route(route="cookies", methods=["GET"])
def cookies(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse("ok", status_code=201, headers={"X-Custom": "yes"}, mimetype="text/html")
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2; HttpOnly")
    return response


@app.route(route="context", trigger_arg_name="request", methods=["GET"])
def with_context(request: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    body = {
        "function_name": context.function_name,
        "invocation_id": context.invocation_id,
        "url": request.url,
    }
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.route(route="out", binding_arg_name="res", methods=["GET"])
def out_binding(req: func.HttpRequest, res: func.Out[func.HttpResponse]) -> None:
    res.set(func.HttpResponse("via out", status_code=202))
