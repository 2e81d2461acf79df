"""Local emulator of the Google Calendar API v3 plus a control API.

Layout (moto-style): ``models`` holds the state (users, calendars, events, change log),
``listing`` implements events.list/instances with sync and page tokens, ``views`` parses
HTTP for ``/calendar/v3/``, ``control`` serves ``/_emulator/``, ``exceptions`` renders
Google's error bodies, ``recurrence`` expands RRULEs, ``push`` delivers watch
notifications, ``invitations`` keeps attendees' copies, ``faults`` injects errors,
``app.create_calendar_app`` builds the
Flask app (``localgoogle.app`` adds the add-on host). The unmodified
google-api-python-client talks to it via
``client_options={"api_endpoint": "http://HOST:PORT/calendar/v3/"}`` (``client``).
"""
