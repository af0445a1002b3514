"""Smoke test of a deployed function app (``scripts/smoke <base URL>``; not deployed itself).

The template's part: the steps, their timing and summary, the diagnoses, the host and route
checks and the abuse-protection check (``runner``, ``diagnoses``, ``target``, ``pubsub``). An
app's package adds its conversation through one hook, ``<package>/smoke_scenario.py``
(``scenario``). What a scenario imports is exported here.
"""

from .pubsub import JSON_SUBPROTOCOL, PubSubClient
from .report import Diagnosis, StepFailed, StepSkipped
from .scenario import Scenario, Step
from .target import Smoke

__all__ = [
    "JSON_SUBPROTOCOL",
    "Diagnosis",
    "PubSubClient",
    "Scenario",
    "Smoke",
    "Step",
    "StepFailed",
    "StepSkipped",
]
