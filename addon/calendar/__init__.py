"""Calendar API access (google-api-python-client) with retries and typed errors."""
