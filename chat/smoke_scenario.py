"""The chat's smoke-test scenario (``scripts/smoke``; the hook is described in ``smoke/scenario.py``).

Negotiate as a guest, connect through Web PubSub with ``json.webpubsub.azure.v1``, send a chat
message, receive it back from the room, find it in the room's history, disconnect. The message
really lands in the default room: it reads ``smoke test <id>``.

This file runs on your machine against the deployed app (it is not deployed, see
``.funcignore``), so it uses only ``smoke`` and talks to the app as the page does:
``GET /api/negotiate`` and the ``chat``/``history`` events (shapes in ``messages.py``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from smoke import Diagnosis, PubSubClient, Scenario, Smoke, Step, StepFailed, StepSkipped

GUEST_NAME = "smoke-test"

GUESTS_OFF = Diagnosis(
    cause="negotiate asks for sign-in: guests are off (ChatAllowGuests=false) and the smoke test cannot "
    "sign in, so the chat's steps cannot run",
    fix="to smoke-test the chat, allow guests: azd env set CHAT_ALLOW_GUESTS true, then azd provision "
    "(locally: ChatAllowGuests=true)",
)
STORAGE_REFUSED = Diagnosis(
    cause="the app cannot write or read the history table: right after azd up, the identity's Storage Table "
    "Data Contributor role may not be effective yet (locally: ChatStorage is wrong or Azurite is down)",
    fix="wait five minutes and run scripts/smoke again; if it persists, check ChatStorage__tableServiceUri "
    "and the role assignment on the chat table",
)
BROADCAST_REFUSED = Diagnosis(
    cause="the app cannot send to the room through the Web PubSub REST API: its identity's Web PubSub "
    "Service Owner role may not be effective yet, or WebPubSubConnectionString__serviceUri is wrong",
    fix="wait a few minutes and run scripts/smoke again; if it persists, check that role on the "
    "Web PubSub resource",
)
NOT_IN_HISTORY = Diagnosis(
    cause="the message was delivered but is not in the room's history: the app has no history store "
    "(ChatStorage / ChatStorage__tableServiceUri unset) or its write failed after the broadcast",
    fix="set ChatStorage__tableServiceUri (infra/ does) and look for history errors in the function's logs",
)


def diagnose_refusal(reason: str) -> Diagnosis | None:
    """What an ``{"kind": "error", "reason"}`` reply of the chat's handlers (``handlers.py``) means."""
    if "not saved" in reason or "history is unavailable" in reason:
        return STORAGE_REFUSED
    if "not delivered" in reason:
        return BROADCAST_REFUSED
    return None


def _error_or(kind: str) -> Callable[[Any], bool]:
    def matches(data: Any) -> bool:
        return isinstance(data, dict) and data.get("kind") in (kind, "error")

    return matches


class ChatSmoke:
    """The scenario's state: what one step hands to the next."""

    def __init__(self, smoke: Smoke) -> None:
        self.smoke = smoke
        self.text = f"smoke test {secrets.token_hex(4)}"
        self.client_url = ""
        self.client: PubSubClient | None = None
        self.message_id: str | None = None

    def connected_client(self) -> PubSubClient:
        if self.client is None:
            raise StepSkipped("not connected")
        return self.client

    async def negotiate(self) -> str:
        body = await self.smoke.get_json(
            "negotiate", {"name": GUEST_NAME}, diagnoses_by_status={401: GUESTS_OFF}
        )
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str):
            raise StepFailed("negotiate answered without a client URL")
        self.client_url = url
        self.smoke.learn_service_url(url)  # the runner checks abuse protection for this hub and host
        return f"{body.get('userId')} in room {body.get('room')}"

    async def connect(self) -> str:
        self.client = await self.smoke.connect(self.client_url)
        return f"connection {self.client.connection_id} as {self.client.user_id}"

    async def send(self) -> str:
        await self.connected_client().send_event("chat", {"text": self.text})
        return f"'{self.text}' acknowledged by the service"

    async def receive(self) -> str:
        def ours(data: Any) -> bool:
            return _error_or("chat")(data) and (data.get("kind") == "error" or data.get("text") == self.text)

        data = await self.connected_client().wait_for_message("the chat message from the room", ours)
        self._raise_if_refused(data)
        self.message_id = data.get("id")
        return f"message {self.message_id} from room {data.get('room')}"

    async def history(self) -> str:
        client = self.connected_client()
        await client.send_event("history", {"limit": 50})
        data = await client.wait_for_message("the history reply", _error_or("history"))
        self._raise_if_refused(data)
        ids = [m.get("id") for m in data.get("messages") or () if isinstance(m, dict)]
        if self.message_id not in ids:
            raise StepFailed(f"the message is not among the room's last {len(ids)} messages", NOT_IN_HISTORY)
        return f"found among the room's last {len(ids)} messages"

    async def disconnect(self) -> str:
        code = await self.connected_client().close()
        return f"closed (code {code})"

    @staticmethod
    def _raise_if_refused(data: dict[str, Any]) -> None:
        if data.get("kind") == "error":
            reason = str(data.get("reason") or "")
            raise StepFailed(f"the app answered: {reason}", diagnose_refusal(reason))


def scenario(smoke: Smoke) -> Scenario:
    """The hook: the chat's conversation, as steps."""
    chat = ChatSmoke(smoke)
    return Scenario(
        "chat",
        [
            Step("negotiate as a guest", chat.negotiate),
            Step("connect through Web PubSub", chat.connect),
            Step("send a chat message", chat.send),
            Step("receive it from the room", chat.receive),
            Step("find it in the history", chat.history),
            Step("disconnect", chat.disconnect, always=True),
        ],
    )
