"""The small HTML pages a person sees in a browser (settings, status, sign-in errors, the
offline-sync and account-linking steps): one layout, the security headers every such page
carries, and errors as pages with the right status and a machine reason (``data-reason``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response, render_template_string

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f8fb;color:#1f2937}
main{max-width:{{ width }};margin:2.5rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 1px 3px rgba(0,0,0,.1)}h1{font-size:1.4rem;margin-top:0}h2{font-size:1.05rem}
.muted{color:#6b7280}button,.btn{font:inherit;padding:.5rem 1rem;border-radius:8px;
border:1px solid #1a73e8;background:#1a73e8;color:#fff;cursor:pointer;text-decoration:none;
display:inline-block;white-space:nowrap}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}select{font:inherit;padding:.3rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}td,th{text-align:left;
padding:.3rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
.num{font-size:1.6rem;font-weight:700}.tiles{display:flex;gap:1rem;flex-wrap:wrap}
.tile{flex:1;min-width:8rem;background:#f3f4f6;border-radius:8px;padding:.6rem .8rem}
.bad{color:#b3261e}.ok{color:#137333}
</style></head>
<body><main id="page" data-reason="{{ reason }}">
<h1>{{ title }}</h1>
{{ body|safe }}
</main></body></html>"""


STEP = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f8fb;color:#1f2937}
main{max-width:34rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 1px 3px rgba(0,0,0,.1)}h1{font-size:1.4rem;margin-top:0}
.state{font-weight:600}.muted{color:#6b7280}button{font:inherit;padding:.5rem 1rem;
border-radius:8px;border:1px solid #1a73e8;background:#1a73e8;color:#fff;cursor:pointer}
button.off{background:#fff;color:#b3261e;border-color:#b3261e}
</style></head>
<body><main id="{{ main_id }}" data-reason="{{ reason }}">
<h1>{{ title }}</h1>
{% for line in lines %}<p>{{ line }}</p>{% endfor %}
{% if button %}<form method="post" action="{{ button.action }}">
<input type="hidden" name="{{ button.field }}" value="{{ button.value }}">
<button id="{{ button.id }}" class="{{ button.css }}" type="submit">{{ button.label }}</button>
</form>{% endif %}
</main></body></html>"""


@dataclass(frozen=True)
class StepButton:
    """The one form of a step page: a POST to ``action`` carrying ``field=value``."""

    action: str
    field: str
    value: str
    label: str
    id: str
    css: str = ""


def _secured(response: Response, form_action: str) -> Response:
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"form-action {form_action}; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def page(status: int, title: str, body: str, *, reason: str = "ok", wide: bool = False) -> Response:
    """``body`` is HTML the caller escaped (templates render it with autoescaping)."""
    html = render_template_string(
        LAYOUT, title=title, body=body, reason=reason, width="60rem" if wide else "36rem"
    )
    return _secured(Response(html, status=status, mimetype="text/html"), "'self'")


def step_page(
    status: int,
    title: str,
    lines: tuple[str, ...],
    *,
    main_id: str,
    reason: str,
    button: StepButton | None,
    redirects_to: str,
) -> Response:
    """A page of a flow through Google's (or a vendor's) authorization: lines of text and at
    most one button. Its form is redirected on to ``redirects_to``'s origin, which
    ``form-action`` must allow (it covers redirects after a submission)."""
    html = render_template_string(
        STEP, title=title, lines=lines, reason=reason, main_id=main_id, button=button
    )
    target = urlsplit(redirects_to)
    response = Response(html, status=status, mimetype="text/html")
    return _secured(response, f"'self' {target.scheme}://{target.netloc}")


def fragment(template: str, **values: object) -> str:
    """A piece of page from a Jinja template (autoescaped)."""
    return render_template_string(template, **values)


def message(status: int, title: str, text: str, reason: str) -> Response:
    return page(status, title, fragment("<p>{{ text }}</p>", text=text), reason=reason)
