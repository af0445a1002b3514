"""local.settings.json and host.json handling, without a server."""

from __future__ import annotations

import json
import logging

import pytest

from devhost.functions.host_config import ROUTE_PREFIX_SETTING, HostConfigError, read_route_prefix
from devhost.functions.settings import SettingsError, apply_settings, ensure_settings_file, load_settings


def _write(path, document):
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_environment_wins_over_local_settings_and_only_the_key_is_logged(caplog):
    environ = {"KEPT": "from-env", "EMPTY": ""}
    caplog.set_level(logging.WARNING)
    skipped = apply_settings({"KEPT": "file-secret", "EMPTY": "filled", "NEW": "new"}, environ)
    assert environ == {"KEPT": "from-env", "EMPTY": "filled", "NEW": "new"}
    assert skipped == ["KEPT"]
    assert "KEPT" in caplog.text
    assert "file-secret" not in caplog.text and "from-env" not in caplog.text


def test_values_and_local_http_port_are_read(tmp_path):
    path = _write(
        tmp_path / "local.settings.json",
        {"Values": {"A": "1", "B": True, "C": 2, "D": None}, "Host": {"LocalHttpPort": 7123}},
    )
    settings = load_settings(path)
    assert dict(settings.values) == {"A": "1", "B": "true", "C": "2"}
    assert settings.local_http_port == 7123


def test_missing_file_gives_empty_settings(tmp_path):
    settings = load_settings(tmp_path / "local.settings.json")
    assert dict(settings.values) == {} and settings.local_http_port is None


@pytest.mark.parametrize(
    "document",
    [
        {"IsEncrypted": True, "Values": {}},
        {"Values": {"A": {"nested": 1}}},
        {"Values": []},
        [1, 2],
        {"Host": {"LocalHttpPort": "x"}},
    ],
)
def test_unusable_settings_are_refused(tmp_path, document):
    with pytest.raises(SettingsError):
        load_settings(_write(tmp_path / "local.settings.json", document))


def test_invalid_json_is_refused(tmp_path):
    path = tmp_path / "local.settings.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SettingsError):
        load_settings(path)


def test_sample_is_copied_only_when_settings_are_missing(tmp_path):
    sample = _write(tmp_path / "local.settings.sample.json", {"Values": {"A": "sample"}})
    target = tmp_path / "local.settings.json"
    assert ensure_settings_file(target, sample) is True
    assert json.loads(target.read_text())["Values"] == {"A": "sample"}
    _write(target, {"Values": {"A": "mine"}})
    assert ensure_settings_file(target, sample) is False
    assert json.loads(target.read_text())["Values"] == {"A": "mine"}


def test_no_sample_means_no_copy(tmp_path):
    assert ensure_settings_file(tmp_path / "local.settings.json", tmp_path / "missing.json") is False
    assert not (tmp_path / "local.settings.json").exists()


@pytest.mark.parametrize(
    ("host_json", "expected"),
    [
        (None, "api"),
        ({"version": "2.0"}, "api"),
        ({"extensions": {"http": {"routePrefix": ""}}}, ""),
        ({"extensions": {"http": {"routePrefix": "/v1/"}}}, "v1"),
    ],
)
def test_route_prefix_comes_from_host_json(tmp_path, host_json, expected):
    if host_json is not None:
        _write(tmp_path / "host.json", host_json)
    assert read_route_prefix(tmp_path, {}) == expected


def test_route_prefix_app_setting_overrides_host_json(tmp_path):
    _write(tmp_path / "host.json", {"extensions": {"http": {"routePrefix": "api"}}})
    assert read_route_prefix(tmp_path, {ROUTE_PREFIX_SETTING: "custom"}) == "custom"


def test_non_string_route_prefix_is_refused(tmp_path):
    _write(tmp_path / "host.json", {"extensions": {"http": {"routePrefix": 5}}})
    with pytest.raises(HostConfigError):
        read_route_prefix(tmp_path, {})
