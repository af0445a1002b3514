"""Handle each upstream event once, although the service may deliver it more than once.

Web PubSub retries an event whose answer it did not get (a timeout, a 5xx, a lost
connection), with the same ``ce-id`` from the same connection. A handler that stores or
broadcasts must therefore recognise a retry. ``claim`` does that with one storage round
trip: it inserts a *claim* row keyed on (connection id, ``ce-id``), holding whatever the
handler needs to finish the job (the message it is about to store, say). Only one
attempt's insert succeeds::

    outcome = await claim(table, partition, event.context, {"text": text})
    if not outcome.first:           # a retry: the work was (or is being) done
        return None
    await broadcast(...)            # happens once per event

Claim *before* the side effect that must happen once: a claim written after it (or beside
it) cannot stop a retry that arrives in between. If the side effect then fails and the
caller wants the retry to run it again, ``release`` removes the claim.

The row lives in the caller's table and partition (keep it next to what it guards); its
RowKey starts with ``CLAIM_PREFIX``, so queries over other rows can skip it by key range.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from .events import ConnectionContext
from .tables import Table

CLAIM_PREFIX = "e"  # RowKeys of claim rows start with this
_KEY_FIELDS = ("PartitionKey", "RowKey")


class Claim(NamedTuple):
    """The outcome of ``claim``."""

    first: bool  # True: this attempt owns the event; False: an earlier attempt claimed it
    record: dict[str, Any]  # what the owning attempt stored (its ``record``, without the keys)


def claim_key(connection_id: str, event_id: str) -> str:
    """The claim row's RowKey: a hash (Table keys refuse some characters ids may hold) of
    both ids, encoded so that no two pairs give the same input."""
    pair = json.dumps([connection_id, event_id]).encode("utf-8", "surrogatepass")
    return CLAIM_PREFIX + hashlib.sha256(pair).hexdigest()[:40]


def _strip(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in entity.items() if name not in _KEY_FIELDS}


async def claim(
    table: Table, partition: str, context: ConnectionContext, record: Mapping[str, Any] | None = None
) -> Claim:
    """Claim the event of ``context`` in ``partition``: one insert-if-absent.

    Returns ``Claim(first=True, record)`` for the first attempt, and for an event without a
    ``ce-id`` (nothing to recognise a retry by: it is always handled). A later attempt gets
    ``Claim(first=False, <the first attempt's record>)``.

    Raises:
        azure.core.exceptions.AzureError: storage failed; nothing is known about the event.
    """
    fields = dict(record or {})
    if not context.event_id:
        return Claim(True, fields)
    key = claim_key(context.connection_id, context.event_id)
    entity = {"PartitionKey": partition, "RowKey": key, **fields}
    for _ in range(2):  # the second round only if the claim was released in between
        if await table.insert(entity):
            return Claim(True, fields)
        earlier = await table.get(partition, key)
        if earlier is not None:
            return Claim(False, _strip(earlier))
    return Claim(False, fields)  # claimed and released twice meanwhile: leave it to the others


async def release(table: Table, partition: str, context: ConnectionContext) -> None:
    """Remove the claim of ``context``'s event, so that a retry of it is handled afresh."""
    if context.event_id:
        await table.delete(partition, claim_key(context.connection_id, context.event_id))
