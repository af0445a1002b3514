"""``shared`` hands its public names out on first use; the MQTT models load on first use.

Cold start pays for what a request needs (``bench/coldstart.py``): ``import shared`` alone
imports none of its modules, the hub does not import the MQTT models or the service client,
and every public name still resolves to the object its module defines.
"""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import shared

ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(m for m in sys.modules if m.startswith('shared'))))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_every_public_name_resolves_to_its_modules_object() -> None:
    assert sorted(shared.__all__) == sorted(shared._EXPORTS)
    for name, module in shared._EXPORTS.items():
        assert getattr(shared, name) is getattr(importlib.import_module(f"shared.{module}"), name)
    assert set(shared.__all__) <= set(dir(shared))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        shared.NoSuchThing  # noqa: B018
    with pytest.raises(ImportError):
        exec("from shared import NoSuchThing")


def test_import_shared_alone_imports_none_of_its_modules() -> None:
    assert _loaded_after("import shared") == {"shared"}


def test_the_hub_imports_neither_the_mqtt_models_nor_the_service_client() -> None:
    loaded = _loaded_after("from shared import WebPubSubHub, ConnectEvent, UserEvent")
    assert "shared.functions" in loaded and "shared.events" in loaded
    assert not loaded & {"shared.mqtt", "shared.service", "shared.entra"}


def test_mqtt_names_load_their_module_from_every_old_place() -> None:
    loaded = _loaded_after(
        "from shared.events import MqttConnectEvent, MqttUserEvent\n"
        "from shared.responses import MqttConnectErrorResponse\n"
        "from shared import MqttDisconnectedEvent"
    )
    assert "shared.mqtt" in loaded
