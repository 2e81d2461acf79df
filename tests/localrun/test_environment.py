"""What ``make run`` does with the caller's own ``ADDON_*`` variables: the wiring is the
stack's and said so, local defaults give way, everything else passes through."""

from __future__ import annotations

import json

from localrun.config import ADJUSTABLE, WIRED, LocalPorts, backend_env, stack_environment

PORTS = LocalPorts(backend=18080, emulator=18090, datastore=18081)


def test_every_variable_the_stack_sets_is_either_wired_or_adjustable() -> None:
    assert set(backend_env(PORTS)) == set(WIRED) | set(ADJUSTABLE)
    assert not set(WIRED) & set(ADJUSTABLE)


def test_nothing_set_by_the_caller_means_the_stacks_own_environment() -> None:
    stack = stack_environment(PORTS, {"PATH": "/usr/bin", "HOME": "/root"})
    assert stack.env == backend_env(PORTS)
    assert stack.honoured == [] and stack.replaced == []


def test_wired_values_stay_the_stacks_and_each_replacement_says_why() -> None:
    caller = {
        "ADDON_CERTS_URL": "https://www.googleapis.com/oauth2/v1/certs",
        "ADDON_ENV": "production",
        "DATASTORE_EMULATOR_HOST": "10.0.0.1:8081",
        "ADDON_BASE_URL": PORTS.backend_url,  # the same value: nothing to say
    }
    stack = stack_environment(PORTS, caller)
    assert stack.env["ADDON_CERTS_URL"] == f"{PORTS.emulator_url}/oauth2/v1/certs"
    assert stack.env["ADDON_ENV"] == "local"
    assert stack.env["DATASTORE_EMULATOR_HOST"] == PORTS.datastore_host
    assert [name for name, _why in stack.replaced] == [
        "ADDON_CERTS_URL",
        "ADDON_ENV",
        "DATASTORE_EMULATOR_HOST",
    ]
    assert all(why for _name, why in stack.replaced)


def test_local_defaults_give_way_and_other_settings_pass_through() -> None:
    solutions = json.dumps([{"id": "mine", "name": "Mine", "provider": "jitsi"}])
    caller = {
        "ADDON_SOLUTIONS": solutions,
        "ADDON_LEASE_SECONDS": "300",
        "ADDON_LOCAL_BACKEND_PORT": "18080",  # the runner's own flag, not the backend's
    }
    stack = stack_environment(PORTS, caller)
    assert stack.env["ADDON_SOLUTIONS"] == solutions
    assert stack.env["ADDON_LEASE_SECONDS"] == "300"
    assert "ADDON_LOCAL_BACKEND_PORT" not in stack.env
    assert stack.honoured == ["ADDON_LEASE_SECONDS", "ADDON_SOLUTIONS"]
    assert stack.replaced == []
