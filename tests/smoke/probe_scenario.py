"""A fork's scenario for the ``probe`` test app (apps/hub): token, connect, echo, disconnect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smoke import PubSubClient, Scenario, Smoke, Step, StepFailed, StepSkipped
from smoke.scenario import FoundScenario

PROBE_STEPS = ("get a client URL", "connect", "echo", "disconnect")


def scenario(smoke: Smoke) -> Scenario:
    state: dict[str, Any] = {}

    def client() -> PubSubClient:
        if "client" not in state:
            raise StepSkipped("not connected")
        return state["client"]  # type: ignore[no-any-return]

    async def get_url() -> str:
        body = await smoke.get_json("token")
        state["url"] = body["url"]
        smoke.learn_service_url(body["url"])
        return "got one"

    async def connect() -> str:
        state["client"] = await smoke.connect(state["url"])
        return state["client"].connection_id  # type: ignore[no-any-return]

    async def echo() -> str:
        await client().send_event("echo", {"n": 1})
        data = await client().wait_for_message("the echo", lambda d: isinstance(d, dict) and "echo" in d)
        if data != {"echo": {"n": 1}}:
            raise StepFailed(f"unexpected echo {data!r}")
        return "echoed"

    async def disconnect() -> str:
        return f"code {await client().close()}"

    return Scenario(
        "probe",
        [
            Step(PROBE_STEPS[0], get_url),
            Step(PROBE_STEPS[1], connect),
            Step(PROBE_STEPS[2], echo),
            Step(PROBE_STEPS[3], disconnect, always=True),
        ],
    )


PROBE = FoundScenario("probe", Path(__file__), factory=scenario)
