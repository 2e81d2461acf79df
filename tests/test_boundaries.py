"""The package boundaries in pyproject.toml (import-linter) hold, and each one can fail.

``make test`` runs ``lint-imports`` on the repository. Here every contract is broken on
purpose, in a copy of the packages, with the kind of import that would creep in (a lazy one
inside a function among them), and ``lint-imports`` must name exactly that contract.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {c["id"]: c["name"] for c in CONFIG["contracts"]}
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")

# contract id -> (module to edit, code appended to it)
VIOLATIONS = {
    "ships-alone": (
        "addon/markup.py",
        "\n\ndef _debug_calendar():\n    import localgoogle.calendar.models\n\n"
        "    return localgoogle.calendar.models\n",
    ),
    "doubles-know-no-addon": (
        "localgoogle/calendar/views.py",
        "\nfrom addon.settings import Settings as _Settings  # noqa\n",
    ),
    "doubles-independent": (
        "localgoogle/calendar/models.py",
        "\nfrom localgoogle.addon_host.keys import GOOGLE_ISSUER as _ISSUER  # noqa\n",
    ),
    "addon-layers": (
        "addon/store/records.py",
        "\nfrom addon.sync.plan import plan_event as _plan  # noqa\n",
    ),
}


def lint(root: Path) -> tuple[int, dict[str, str]]:
    """Run lint-imports in ``root``; (exit code, contract name -> KEPT/BROKEN)."""
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, env=env,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    verdicts: dict[str, str] = {}
    for name in CONTRACTS.values():
        found = re.search(re.escape(name) + r"\s+(KEPT|BROKEN)", result.stdout)
        assert found, f"no verdict for {name!r} in:\n{result.stdout}\n{result.stderr}"
        verdicts[name] = found.group(1)
    return result.returncode, verdicts


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the root packages and the configuration, to break one contract at a time."""
    copy = tmp_path_factory.mktemp("boundaries") / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "static", "templates", "results")
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_repository_keeps_every_contract() -> None:
    code, verdicts = lint(ROOT)
    assert code == 0 and set(verdicts.values()) == {"KEPT"}, verdicts


def test_every_contract_has_a_violation_below() -> None:
    assert set(VIOLATIONS) == set(CONTRACTS)


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_violation_breaks_exactly_its_contract(
    contract: str, pristine: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "repo"
    shutil.copytree(pristine, broken)
    module, code = VIOLATIONS[contract]
    with (broken / module).open("a") as f:
        f.write(code)
    exit_code, verdicts = lint(broken)
    assert exit_code != 0
    assert {n for n, v in verdicts.items() if v == "BROKEN"} == {CONTRACTS[contract]}
