"""``shared.tables`` and ``shared.claims`` against a real Azurite (in memory, a free port)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from devhost.storage import RunningAzurite, start_azurite
from shared import closing
from shared.claims import CLAIM_PREFIX, claim, claim_key, release
from shared.events import ConnectionContext
from shared.tables import Table, close_tables, get_table, table_settings

PREFIX = "FixtureStorage"


@pytest.fixture
async def azurite() -> AsyncIterator[RunningAzurite]:
    running = await start_azurite("127.0.0.1", 0, None)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def table(azurite: RunningAzurite, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Table]:
    monkeypatch.setenv(PREFIX, azurite.connection_string)
    found = get_table(PREFIX, "t" + uuid.uuid4().hex[:12])  # a fresh table: not created yet
    assert found is not None
    try:
        yield found
    finally:
        await close_tables()


def context(event_id: str = "ce-1", connection_id: str = "conn-1") -> ConnectionContext:
    return ConnectionContext(
        hub="fixture",
        connection_id=connection_id,
        event_name="vote",
        event_type="azure.webpubsub.user.vote",
        event_id=event_id,
    )


def test_settings_come_from_one_prefix_and_identity_mode_wins() -> None:
    assert table_settings(PREFIX, "t", {}) is None
    keyed = table_settings(PREFIX, "t", {PREFIX: "UseDevelopmentStorage=true"})
    assert keyed is not None and keyed.connection_string == "UseDevelopmentStorage=true"
    identity = table_settings(
        PREFIX,
        "t",
        {
            PREFIX: "UseDevelopmentStorage=true",
            f"{PREFIX}__tableServiceUri": "https://acct.table.core.windows.net",
            f"{PREFIX}__clientId": "00000000-0000-0000-0000-000000000001",
        },
    )
    assert identity is not None
    assert (identity.connection_string, identity.table_service_uri) == (
        None,
        "https://acct.table.core.windows.net",
    )
    assert identity.client_id == "00000000-0000-0000-0000-000000000001"
    assert "AccountKey" not in repr(table_settings(PREFIX, "t", {PREFIX: "AccountKey=secret"}))


async def test_a_table_is_created_on_first_use_and_serves_every_helper(table: Table) -> None:
    assert await table.get("p", "missing") is None  # no table yet: nothing, not an error
    assert await table.query("PartitionKey eq @p", {"p": "p"}) == []
    assert await table.insert({"PartitionKey": "p", "RowKey": "a", "n": 1}) is True
    assert await table.insert({"PartitionKey": "p", "RowKey": "a", "n": 2}) is False  # kept the first
    await table.upsert({"PartitionKey": "p", "RowKey": "b", "n": 3})
    await table.upsert({"PartitionKey": "p", "RowKey": "b", "n": 4})  # replaced
    rows = await table.query("PartitionKey eq @p", {"p": "p"})
    assert [(row["RowKey"], row["n"]) for row in rows] == [("a", 1), ("b", 4)]
    assert [row["RowKey"] for row in await table.query("PartitionKey eq @p", {"p": "p"}, limit=1)] == ["a"]
    await table.delete("p", "a")
    await table.delete("p", "a")  # already gone: no error
    assert await table.get("p", "a") is None
    assert (await table.get("p", "b") or {})["n"] == 4


async def test_concurrent_first_requests_create_the_table_once(table: Table) -> None:
    results = await asyncio.gather(
        *(table.insert({"PartitionKey": "p", "RowKey": f"r{i}"}) for i in range(8))
    )
    assert results == [True] * 8
    assert len(await table.query("PartitionKey eq 'p'")) == 8


async def test_one_pooled_client_per_table_and_loop_closed_by_the_shared_closer(
    azurite: RunningAzurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PREFIX, azurite.connection_string)
    first, again, other = get_table(PREFIX, "pooled"), get_table(PREFIX, "pooled"), get_table(PREFIX, "other")
    assert first is again and first is not other and first is not None
    assert get_table("NotConfigured", "pooled") is None
    await closing.close_all()  # what the dev host calls on stop
    assert get_table(PREFIX, "pooled") is not first  # closed and dropped: a new one
    await close_tables()


async def test_only_the_first_attempt_of_an_event_owns_it(table: Table) -> None:
    first = await claim(table, "room", context(), {"text": "hi"})
    retry = await claim(table, "room", context(), {"text": "changed on retry"})
    assert (first.first, retry.first) == (True, False)
    assert retry.record == {"text": "hi"}  # what the owner stored, without the table's keys
    other_event = await claim(table, "room", context(event_id="ce-2"), {"text": "next"})
    other_connection = await claim(table, "room", context(connection_id="conn-2"), {"text": "same ce-id"})
    assert other_event.first and other_connection.first


async def test_concurrent_attempts_have_exactly_one_owner(table: Table) -> None:
    outcomes = await asyncio.gather(*(claim(table, "room", context(), {"attempt": i}) for i in range(10)))
    owners = [outcome for outcome in outcomes if outcome.first]
    assert len(owners) == 1
    assert all(outcome.record == owners[0].record for outcome in outcomes)


async def test_a_released_claim_lets_the_retry_run_again(table: Table) -> None:
    assert (await claim(table, "room", context())).first
    await release(table, "room", context())
    assert (await claim(table, "room", context())).first


async def test_without_a_ce_id_nothing_is_stored_and_the_event_is_handled(table: Table) -> None:
    assert (await claim(table, "room", context(event_id=""))).first
    assert (await claim(table, "room", context(event_id=""))).first
    assert await table.query("PartitionKey eq 'room'") == []


def test_claim_keys_are_table_safe_and_distinct() -> None:
    odd = claim_key("conn/with#odd?chars\\", "ce-1")
    assert odd.startswith(CLAIM_PREFIX) and not set("/\\#?") & set(odd)
    assert claim_key("a\nb", "c") != claim_key("a", "b\nc")
    assert claim_key("conn", "ce-1") != claim_key("conn", "ce-2")
