"""An app that indexes no function: what Azure runs when the remote build went wrong."""

import azure.functions as func

app = func.FunctionApp()
