"""``python -m localgoogle --host 127.0.0.1 --port 8090``: the Calendar emulator, add-on host
and Cloud Tasks emulator."""

from __future__ import annotations

import argparse

from localgoogle.app import create_emulator_app
from localgoogle.server import make_keepalive_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Google Calendar API v3 emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--base-url", default=None, help="public base URL for resource URIs")
    args = parser.parse_args(argv)
    app = create_emulator_app(base_url=args.base_url)
    # Threaded (every connection on its own thread; the state lock makes operations atomic)
    # and HTTP/1.1 keep-alive, so clients do not pay a new connection per call.
    server = make_keepalive_server(args.host, args.port, app)
    base = f"http://{args.host}:{server.server_port}"
    print(f"Calendar emulator on {base}/calendar/v3/", flush=True)
    print(f"Cloud Tasks emulator on {base}/v2/ (api_endpoint={base})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["cloud_tasks"].close()
        server.server_close()


if __name__ == "__main__":
    main()
