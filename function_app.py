"""The Azure Functions app: create it, register blueprints, nothing else.

Serve it with ``func start`` (Core Tools) or ``python -m devhost`` (no Azure needed). Each
package adds one import and one ``register_functions`` line; the chat sample's are the two
lines that name ``chat`` (README, "Forking").
"""

import azure.functions as func

from chat import blueprint as chat_blueprint

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(chat_blueprint)
