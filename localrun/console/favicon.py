"""The console's icon (a camera on a calendar page, the logo's colours), as SVG.

Pages link it inline (``data:`` URI: no request at all); ``/favicon.ico`` on the emulator
stack answers the same picture for clients that ask for it anyway, so neither 404s.
"""

from __future__ import annotations

from urllib.parse import quote

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#1a73e8"/>'
    '<path d="M32 14v11a7 7 0 0 1-7 7H14z" fill="#34a853"/>'
    '<rect x="6" y="10" width="14" height="12" rx="2" fill="#fff"/>'
    '<path d="M21 14l6-4v12l-6-4z" fill="#fff"/>'
    "</svg>"
)
CONTENT_TYPE = "image/svg+xml"
DATA_URI = "data:image/svg+xml," + quote(SVG)
