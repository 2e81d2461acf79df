"""The emulator side of the local stack, as one WSGI app in one process (state is in memory).

``create_local_emulator_app(...)`` composes, without changing any of them:

* ``localgoogle.app.create_emulator_app()`` — Calendar API v3, control API, add-on host;
* the fake conferencing server (``localgoogle.vendors.rest``) at ``/_conferencing``;
* the fake vendors of ``localrun.vendors``: Zoom at ``/_zoom``, Microsoft Graph at ``/_graph``,
  Daily at ``/_daily``, BigBlueButton at ``/_bbb``, Webex at ``/_webex``, each with its
  control API;
* the console (``localrun.console``) at ``/console`` (``/`` redirects there; ``/favicon.ico``
  answers the console's icon, so a browser's automatic request does not 404).

``python -m localrun.emulator_stack --port 8090 --datastore-project local-addon`` serves it
with threaded werkzeug speaking HTTP/1.1 keep-alive (``localgoogle.server``); the runner starts
it that way as a child process. The console reads Datastore through ``DATASTORE_EMULATOR_HOST``.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import sys
from collections.abc import Callable
from types import FrameType

from flask import Flask, Response, redirect, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from addon.store.datastore import Store
from localgoogle.app import create_emulator_app
from localgoogle.server import make_keepalive_server
from localgoogle.vendors.rest import ConferencingState, conferencing_blueprint
from localrun import console
from localrun.config import CONFERENCING_PREFIX, HOST, PROJECT
from localrun.console import favicon
from localrun.timed_conferencing import TimedConferencingState
from localrun.vendors import mount_vendors


def create_local_emulator_app(
    *,
    datastore_project: str = PROJECT,
    datastore_namespace: str | None = None,
    public_url: str | None = None,
    conferencing: ConferencingState | None = None,
    store_factory: Callable[[], Store] | None = None,
    bridge_url: str | None = None,
) -> Flask:
    """Calendar emulator + add-on host + fake conferencing server + console.

    ``public_url`` is where a browser reaches this app; meeting join links then open the
    console's meeting page instead of a made-up host. ``bridge_url``: the Apps Script
    stand-in running the bridge's script, which the console can pick through.
    """
    app = create_emulator_app(base_url=public_url)
    app.config["SECRET_KEY"] = secrets.token_hex(16)
    if conferencing is None:
        join_base = (
            f"{public_url.rstrip('/')}/console/join"
            if public_url
            else "https://conference.example/j"
        )
        conferencing = TimedConferencingState(join_base=join_base)
    app.extensions["conferencing"] = conferencing
    app.register_blueprint(conferencing_blueprint(conferencing), url_prefix=CONFERENCING_PREFIX)
    vendors = mount_vendors(app)
    console.init_app(
        app,
        conferencing=conferencing,
        store_factory=store_factory
        or (lambda: Store.connect(datastore_project, datastore_namespace)),
        bridge_url=bridge_url,
        vendors=vendors,
    )

    @app.get("/")
    def _home() -> WerkzeugResponse:
        return redirect(url_for("console.index"))

    @app.get("/favicon.ico")
    def _favicon() -> Response:
        response = Response(favicon.SVG, mimetype=favicon.CONTENT_TYPE)
        response.cache_control.max_age = 86400
        response.cache_control.public = True
        return response

    return app


class _QuietPolls(logging.Filter):
    """Keep the console's 2-second refresh out of the terminal's request log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "/console/live" not in message and "/console/static/" not in message


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Calendar emulator + add-on host + fake conferencing server + console"
    )
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--datastore-project", default=PROJECT)
    parser.add_argument("--public-url", default=None, help="default http://HOST:PORT")
    parser.add_argument("--bridge-url", default=None, help="the Apps Script stand-in, if any")
    args = parser.parse_args(argv)
    public_url = args.public_url or f"http://{args.host}:{args.port}"
    logging.getLogger("werkzeug").addFilter(_QuietPolls())
    app = create_local_emulator_app(
        datastore_project=args.datastore_project, public_url=public_url, bridge_url=args.bridge_url
    )
    # Threaded werkzeug with HTTP/1.1 keep-alive (localgoogle.server): the add-on's clients
    # reuse their connections instead of reconnecting for every call.
    server = make_keepalive_server(args.host, args.port, app)

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"emulator stack listening on {public_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["addon_host"].close()
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
