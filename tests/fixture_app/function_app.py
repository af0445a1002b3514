"""The template's own test app: one hub (``relay``) and its negotiate endpoint, nothing else.

Not a sample. The tests of the template (dev host, emulator, inspector, upstream security,
soak, the Python 3.13 worker) serve this app with ``python -m devhost --app-dir
tests/fixture_app`` (``shared`` comes from the repository root, the dev host's working
folder), so they keep passing when the chat sample is deleted.
"""

import azure.functions as func

from relay import blueprint as relay_blueprint

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(relay_blueprint)
