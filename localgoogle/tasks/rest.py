"""The Cloud Tasks v2 REST surface under ``/v2/``, as ``google-cloud-tasks``' REST transport
calls it (``transports/rest_base.py``).

Resource names hold slashes and end in an optional ``:verb``, so one catch-all route parses
the path itself; that also makes every unknown path or method answer in Google's error
format. Query parameters the client adds (``$alt=json;enum-encoding=int``) are ignored:
answers use enum names, which the client accepts too.
"""

from __future__ import annotations

import json
from typing import Any, cast

from flask import Blueprint, Response, current_app, jsonify, request

from localgoogle.tasks import errors, parse
from localgoogle.tasks.emulator import CloudTasksEmulator
from localgoogle.tasks.errors import TasksError, invalid, unimplemented
from localgoogle.tasks.wire import field_mask_paths, message

bp = Blueprint("cloud_tasks_api", __name__)

_QUEUE_VERBS = {"pause", "resume", "purge"}
_UNEMULATED_QUEUE_VERBS = {"getIamPolicy", "setIamPolicy", "testIamPermissions"}
_UNEMULATED_TASKS_VERBS = {"batchCreate", "batchDelete", "buffer"}


def _emulator() -> CloudTasksEmulator:
    return cast(CloudTasksEmulator, current_app.extensions["cloud_tasks"])


def _body() -> dict[str, Any]:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(f"Invalid JSON payload received. {error}") from error
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    return body


def _int_arg(name: str) -> int:
    value = request.args.get(name, "")
    if not value:
        return 0
    try:
        return int(value)
    except ValueError as error:
        raise invalid(f"Invalid value at '{name}' (TYPE_INT32), \"{value}\"") from error


def _error(error: TasksError) -> tuple[Response, int]:
    return jsonify(error.body()), error.http_status


def _method_not_found() -> TasksError:
    return errors.not_found(f"The method {request.method} is not defined for {request.path}.")


@bp.route("/v2/<path:path>", methods=["GET", "POST", "PATCH", "DELETE", "PUT"])
def api(path: str) -> tuple[Response, int]:
    try:
        return jsonify(_route(path)), 200
    except TasksError as error:
        return _error(error)


def _route(path: str) -> dict[str, Any]:
    segments = path.split("/")
    last, _, verb = segments[-1].partition(":")
    segments[-1] = last
    # The collection words of projects/P/locations/L/queues/Q/tasks/T, as far as given.
    words = dict(enumerate(["projects", None, "locations", None, "queues", None, "tasks", None]))
    if len(segments) > len(words) or any(
        words[index] not in (None, segment) for index, segment in enumerate(segments)
    ):
        if len(segments) == 5 and segments[4] == "cmekConfig":
            raise unimplemented("CMEK config")
        raise errors.not_found(f"No Cloud Tasks resource at /v2/{path}.")
    if len(segments) <= 4:
        raise unimplemented("The Locations API")
    name, method = "/".join(segments), request.method
    if len(segments) == 5:  # projects/P/locations/L/queues
        return _queues(name.removesuffix("/queues"), method, verb)
    if len(segments) == 6:  # .../queues/Q
        return _queue(name, method, verb)
    if len(segments) == 7:  # .../queues/Q/tasks
        return _tasks(name.removesuffix("/tasks"), method, verb)
    return _task(name, method, verb)  # .../queues/Q/tasks/T


def _queues(parent: str, method: str, verb: str) -> dict[str, Any]:
    store = _emulator().store
    if verb:
        raise _method_not_found()
    if method == "GET":
        return store.list_queues(
            parent,
            _int_arg("pageSize"),
            request.args.get("pageToken", ""),
            request.args.get("filter", ""),
        )
    if method == "POST":
        return store.create_queue(parent, _body())
    raise _method_not_found()


def _queue(name: str, method: str, verb: str) -> dict[str, Any]:
    store = _emulator().store
    if verb in _UNEMULATED_QUEUE_VERBS:
        raise unimplemented(f"queues.{verb} (IAM)")
    if verb in _QUEUE_VERBS and method == "POST":
        _body()  # an empty request message; a malformed one is still an error
        if verb == "purge":
            return store.purge_queue(name)
        return store.set_state(name, "PAUSED" if verb == "pause" else "RUNNING")
    if verb:
        raise _method_not_found()
    if method == "GET":
        return store.get_queue(name)
    if method == "PATCH":
        mask = field_mask_paths(request.args.get("updateMask"))
        return store.update_queue(name, {"name": name, **_body()}, mask)
    if method == "DELETE":
        store.delete_queue(name)
        return {}
    raise _method_not_found()


def _tasks(queue_name: str, method: str, verb: str) -> dict[str, Any]:
    store = _emulator().store
    if verb in _UNEMULATED_TASKS_VERBS:
        raise unimplemented(f"tasks.{verb}")
    if verb:
        raise _method_not_found()
    if method == "GET":
        view = parse.view(request.args.get("responseView"))
        return store.list_tasks(
            queue_name, view, _int_arg("pageSize"), request.args.get("pageToken", "")
        )
    if method == "POST":
        return store.create_task(queue_name, _body())
    raise _method_not_found()


def _task(name: str, method: str, verb: str) -> dict[str, Any]:
    emulator = _emulator()
    if verb == "buffer":
        raise unimplemented("tasks.buffer")
    if verb == "run" and method == "POST":
        body = message(_body(), "", frozenset({"responseView"}))
        return emulator.run_task(name, parse.view(body.get("responseView")))
    if verb:
        raise _method_not_found()
    if method == "GET":
        return emulator.store.get_task(name, parse.view(request.args.get("responseView")))
    if method == "DELETE":
        emulator.store.delete_task(name)
        return {}
    raise _method_not_found()
