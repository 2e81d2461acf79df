"""When the Datastore emulator cannot start, the message says what to install (the same words
as the README's requirements), and quotes what gcloud said."""

from __future__ import annotations

from pathlib import Path

import pytest

from localgoogle.datastore_emulator import INSTALL_HINT, DatastoreEmulator, DatastoreEmulatorError

README = Path(__file__).resolve().parents[2] / "README.md"
MISSING_COMPONENT = (
    "ERROR: (gcloud.beta.emulators.datastore.start) You do not currently have this command "
    "group installed."
)


def only_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **programs: str) -> None:
    """PATH holds ``programs`` alone: name -> shell script body."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in programs.items():
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_no_java_names_java_and_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_on_path(tmp_path, monkeypatch, gcloud="exit 0")
    with pytest.raises(DatastoreEmulatorError, match="java is not on PATH") as info:
        DatastoreEmulator().start(timeout=5)
    assert "default-jre-headless" in str(info.value)


def test_a_missing_component_quotes_gcloud_and_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_on_path(
        tmp_path, monkeypatch, gcloud=f"echo '{MISSING_COMPONENT}' >&2; exit 1", java="exit 0"
    )
    emulator = DatastoreEmulator()
    with pytest.raises(DatastoreEmulatorError) as info:
        emulator.start(timeout=10)
    message = str(info.value)
    assert message.startswith("the Datastore emulator exited with code 1; gcloud said:")
    assert MISSING_COMPONENT in message
    assert "gcloud components install beta cloud-datastore-emulator" in message
    assert emulator.pid is None  # nothing left behind


def test_the_readme_gives_the_same_install_commands() -> None:
    text = " ".join(README.read_text().split())
    for command in (
        "gcloud components install beta cloud-datastore-emulator",
        "apt-get install google-cloud-cli-datastore-emulator",
        "apt-get install --no-install-recommends default-jre-headless",
    ):
        assert command in INSTALL_HINT and command in text
