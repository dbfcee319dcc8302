"""Configuration from the environment: typed, validated, secrets from files and masked."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

from monitor.config.settings import load_settings
from monitor.errors import ConfigError


def test_defaults_use_sqlite_under_storage() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN_FILE": "", "DATABASE_URL": ""})  # compose
    assert settings.db_url == "sqlite:///storage/monitor.sqlite3"
    assert settings.telegram_editor_chat_ids == []


def test_lists_and_secret_files(tmp_path) -> None:
    secret = tmp_path / "token"
    secret.write_text("123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", encoding="utf-8")
    settings = load_settings({"TELEGRAM_BOT_TOKEN_FILE": str(secret),
                              "TELEGRAM_EDITOR_CHAT_IDS": "-1001, 42",
                              "DATABASE_URL": "postgresql://user:hunter2@db:5432/monitor"})
    assert settings.telegram_bot_token.startswith("123456789:")
    assert settings.telegram_editor_chat_ids == [-1001, 42]
    dump = settings.dump()
    assert "AAAA" not in dump["TELEGRAM_BOT_TOKEN"] and "123456789" not in dump["TELEGRAM_BOT_TOKEN"]
    assert "hunter2" not in dump["DATABASE_URL"] and "db:5432/monitor" in dump["DATABASE_URL"]


@pytest.mark.parametrize("env, key", [
    ({"MONITOR_TIMEZONE": "Mars/Olympus"}, "MONITOR_TIMEZONE"),
    ({"TELEGRAM_ALLOWED_USER_IDS": "alice"}, "TELEGRAM_ALLOWED_USER_IDS"),
    ({"MONITOR_TIMEOUT": "-1"}, "MONITOR_TIMEOUT"),
    ({"TELEGRAM_BOT_TOKEN_FILE": "/nonexistent/token"}, "TELEGRAM_BOT_TOKEN_FILE"),
])
def test_bad_values_name_the_variable(env, key) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert str(info.value).startswith(key)


def test_config_dump_masks_the_token(tmp_path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123456789:SECRETSECRETSECRETSECRET", "PATH": "/usr/bin:/bin",
           "MONITOR_STORAGE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "monitor", "config", "--dump"], cwd=ROOT,
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0
    assert "SECRET" not in out.stdout and "TELEGRAM_BOT_TOKEN=***" in out.stdout
