"""What ships: the image and the source upload carry the service (``app.py``, ``addon/``) and
nothing of the local Google, the local stack, tests or benchmarks; and what ships runs alone.

There is no Docker engine on the CI machine, so the image is not built here. Instead the
build context is computed with Docker's own rules (docker-py's ``exclude_paths``, which the
Docker SDK uses to build contexts), the upload list with gcloud's own command, and the
shipped files are copied to an empty directory where gunicorn must serve ``app:app`` with the
Dockerfile's command, and every ``addon`` module must import, with the repository off the path.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from docker.utils.build import exclude_paths

from localgoogle.datastore_emulator import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVICE = {"app.py", "requirements.txt"}
# Build instructions travel with the context or the upload; they are not part of the image.
BUILD_FILES = {"Dockerfile", ".dockerignore", "Procfile"}
NEVER_SHIPPED = ("localgoogle/", "localrun/", "tests/", "bench/", ".venv/", ".git/")


def package_files() -> set[str]:
    """Every file of the ``addon`` package as it is on disk now (bytecode aside)."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "addon").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def docker_context() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return {p for p in exclude_paths(str(ROOT), patterns) if (ROOT / p).is_file()}


def dockerfile_copies() -> list[tuple[str, str]]:
    """(source, destination) of every COPY/ADD instruction."""
    copies = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words and words[0] in ("COPY", "ADD"):
            assert not any(w.startswith("--from") for w in words), "no multi-stage copies"
            *sources, dest = words[1:]
            copies += [(source.rstrip("/"), dest) for source in sources]
    return copies


def image_files() -> set[str]:
    """What the COPY lines take from the build context."""
    context = docker_context()
    out: set[str] = set()
    for source, _dest in dockerfile_copies():
        out |= {p for p in context if p == source or p.startswith(source + "/")}
    return out


def test_build_context_is_the_service_and_nothing_else() -> None:
    context = docker_context()
    assert context - BUILD_FILES == SERVICE | package_files()
    leaked = sorted(p for p in context if p.startswith(NEVER_SHIPPED))
    assert leaked == []


def test_image_copies_only_the_service() -> None:
    assert dockerfile_copies() == [
        ("requirements.txt", "."),
        ("app.py", "./"),
        ("addon", "./addon"),
    ]
    assert image_files() == SERVICE | package_files()


def test_source_upload_is_the_service_and_how_to_build_it() -> None:
    gcloud = shutil.which("gcloud")
    assert gcloud, "the gcloud SDK is required (it also provides the Datastore emulator)"
    listed = subprocess.run(
        [gcloud, "meta", "list-files-for-upload", str(ROOT)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout.split()  # fmt: skip
    uploaded = {Path(p).as_posix() for p in listed}
    assert uploaded == SERVICE | package_files() | {"Dockerfile", "Procfile"}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's /app: the shipped files alone, in an empty directory."""
    app_dir = tmp_path_factory.mktemp("image") / "app"
    for relative in image_files():
        target = app_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    return app_dir


def isolated_env() -> dict[str, str]:
    """No path to the repository: only the shipped directory (the working directory)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1"}


def test_every_shipped_module_imports_without_the_repository(shipped: Path) -> None:
    script = (
        "import importlib, pkgutil, sys, addon\n"
        "names = [m.name for m in pkgutil.walk_packages(addon.__path__, 'addon.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "import app\n"
        "assert not any(m.split('.')[0] in ('localgoogle', 'localrun', 'tests', 'bench')"
        " for m in sys.modules), sorted(sys.modules)\n"
        "print(len(names))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=shipped, env=isolated_env(),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) >= 30  # the walk found the package's modules


def test_the_shipped_files_cannot_reach_the_local_google(shipped: Path) -> None:
    # The check above would pass vacuously if the repository leaked onto the path.
    result = subprocess.run(
        [sys.executable, "-c", "import localgoogle"], cwd=shipped, env=isolated_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_procfile_and_dockerfile_agree() -> None:
    procfile = (ROOT / "Procfile").read_text().strip()
    docker_cmd = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    )
    proc_cmd = procfile.removeprefix("web: ")
    assert docker_cmd.removeprefix("CMD exec ") == proc_cmd
    assert re.search(r"--workers \d+", proc_cmd) and proc_cmd.endswith("app:app")


@pytest.fixture
def served(shipped: Path) -> Iterator[str]:
    """The Procfile's command, run from the shipped files only."""
    port = free_port()
    command = (
        (ROOT / "Procfile").read_text().strip().removeprefix("web: ").replace("$PORT", str(port))
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    args = [gunicorn, *command.split()[1:]]
    env = {**isolated_env(), "ADDON_VERIFY_ID_TOKENS": "true", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(args, cwd=shipped, env=env, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_procfile_command_serves_healthz_from_the_shipped_files(served: str) -> None:
    deadline = time.monotonic() + 30
    body = None
    while time.monotonic() < deadline:
        try:
            body = requests.get(f"{served}/healthz", timeout=2).json()
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    assert body is not None and body["status"] == "ok"
    assert body["idTokenVerification"] == "on"


def test_procfile_command_with_bad_production_settings_lists_them_and_stops(
    shipped: Path,
) -> None:
    """What an operator sees on Cloud Run's first deploy: every missing variable in one go,
    no traceback, and a master that stops instead of restarting workers that cannot start."""
    command = (ROOT / "Procfile").read_text().strip().removeprefix("web: ")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    args = [gunicorn, *command.replace("$PORT", str(free_port())).split()[1:]]
    env = {**isolated_env(), "ADDON_ENV": "production", "ADDON_BASE_URL": "https://a.example"}
    done = subprocess.run(
        args, cwd=shipped, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 4, done  # gunicorn's "App failed to load"
    assert "invalid settings (4 problems):" in done.stderr, done.stderr
    for name in ("ADDON_SECRET_KEY", "ADDON_SERVICE_ACCOUNT", "ADDON_TASKS_QUEUE"):
        assert f"  - {name} must be set in production" in done.stderr
    assert "Traceback" not in done.stderr and "FutureWarning" not in done.stderr
