"""``python -m localrun.shell_env --user EMAIL``: the add-on's environment for a shell, so the
operator commands (``flask --app app sync …``) reach the running local stack.

It prints ``export`` lines: the same ``ADDON_*`` variables the runner gives the backend
(``localrun.config.stack_environment``, with the same port flags and variables as
``python -m localrun``), plus ``ADDON_SYNC_ACCESS_TOKEN``, the user's Calendar access token.
That token comes from the running Calendar emulator, which mints one per user
(``POST /_emulator/users``, idempotent), as Google's OAuth server would for a signed-in user::

    eval "$(.venv/bin/python -m localrun.shell_env --user alice@example.com)"
    .venv/bin/flask --app app sync alice@example.com

Exit codes: 0 printed, 1 the stack is not running there, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

import requests

from localrun.command import PORT_OPTIONS, port_default
from localrun.config import DEMO_USERS, PROJECT, LocalPorts, stack_environment


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = LocalPorts()
    parser = argparse.ArgumentParser(
        prog="python -m localrun.shell_env",
        description="Print export lines that point the add-on's commands at the local stack.",
    )
    parser.add_argument(
        "--user", default=DEMO_USERS[0], help=f"whose Calendar token (default {DEMO_USERS[0]})"
    )
    for attr, flag, env, what in PORT_OPTIONS:
        parser.add_argument(
            flag,
            type=int,
            default=port_default(env, getattr(defaults, attr)),
            help=f"{what} port of the running stack (env {env})",
        )
    parser.add_argument("--project", default=os.environ.get("ADDON_LOCAL_PROJECT", PROJECT))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    ports = LocalPorts(
        backend=args.backend_port,
        emulator=args.emulator_port,
        datastore=args.datastore_port,
        bridge=args.bridge_port,
    )
    try:
        answer = requests.post(
            f"{ports.emulator_url}/_emulator/users", json={"email": args.user}, timeout=10
        )
        answer.raise_for_status()
        token = str(answer.json()["accessToken"])
    except (requests.RequestException, KeyError, ValueError) as exc:
        print(
            f"error: no local stack answers on {ports.emulator_url} ({exc.__class__.__name__}): "
            "start it with `make run` (same port flags) first",
            file=sys.stderr,
        )
        return 1
    env = stack_environment(ports, os.environ, project=args.project).env
    env["ADDON_SYNC_ACCESS_TOKEN"] = token
    for name, value in env.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
