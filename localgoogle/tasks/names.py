"""Resource names of Cloud Tasks v2: locations, queues, tasks, and generated task ids.

The patterns are those of the API reference: PROJECT_ID letters, digits, hyphens, colons and
periods; LOCATION_ID letters, digits and hyphens; QUEUE_ID letters, digits and hyphens, at most
100; TASK_ID letters, digits, hyphens and underscores, 1 to 500.
"""

from __future__ import annotations

import re
import secrets

from localgoogle.tasks.errors import invalid

_LOCATION = r"projects/[A-Za-z0-9\-:.]+/locations/[A-Za-z0-9-]+"
LOCATION_RE = re.compile(rf"^{_LOCATION}$")
QUEUE_RE = re.compile(rf"^({_LOCATION})/queues/([A-Za-z0-9-]{{1,100}})$")
TASK_NAME_RE = re.compile(rf"^({_LOCATION}/queues/[A-Za-z0-9-]{{1,100}})/tasks/([^/]*)$")
TASK_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")

QUEUE_FORMAT = (
    'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/'
    '<QUEUE_ID>".'
)
TASK_FORMAT = (
    'Task name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/'
    '<QUEUE_ID>/tasks/<TASK_ID>".'
)
LOCATION_FORMAT = (
    'Location name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>".'
)


def check_location(name: str) -> str:
    if not LOCATION_RE.match(name):
        raise invalid(LOCATION_FORMAT)
    return name


def check_queue(name: str) -> str:
    if not QUEUE_RE.match(name):
        raise invalid(QUEUE_FORMAT)
    return name


def queue_location(name: str) -> str:
    """``projects/P/locations/L`` of a (valid) queue name."""
    return check_queue(name).rsplit("/queues/", 1)[0]


def queue_id(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def split_task(name: str) -> tuple[str, str]:
    """(queue name, task id) of a task name; INVALID_ARGUMENT if it is malformed."""
    match = TASK_NAME_RE.match(name)
    if match is None:
        raise invalid(TASK_FORMAT)
    queue, task_id = match.group(1), match.group(2)
    if not TASK_ID_RE.match(task_id):
        raise invalid(
            f'Task ID "{task_id}" can contain only letters ([A-Za-z]), numbers ([0-9]), '
            "hyphens (-), or underscores (_). Task ID must between 1 and 500 characters."
        )
    return queue, task_id


def new_task_id() -> str:
    """A system-generated id: like Google's, a long decimal number (uniformly distributed)."""
    return str(10**18 + secrets.randbelow(9 * 10**18))
