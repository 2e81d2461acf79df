"""Local emulator of the Google Calendar API v3 plus a control API.

Layout (moto-style): ``models`` holds the state (users, calendars, events, change log),
``listing`` implements events.list/instances with sync and page tokens, ``views`` parses
HTTP for ``/calendar/v3/``, ``control`` serves ``/_emulator/``, ``exceptions`` renders
Google's error bodies, ``recurrence`` expands RRULEs, ``push`` delivers watch
notifications, ``faults`` injects errors. ``app.create_emulator_app`` builds the Flask
app, ``server.serve`` runs it on a free port, ``python -m addon.emulator`` standalone.
The unmodified google-api-python-client talks to it via
``client_options={"api_endpoint": "http://HOST:PORT/calendar/v3/"}``.
"""
