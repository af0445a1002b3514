"""The blueprint and the hub every module of the sample registers on."""

import azure.functions as func

from shared import WebPubSubHub

HUB = "chat"

blueprint = func.Blueprint()
hub = WebPubSubHub(HUB, blueprint)
