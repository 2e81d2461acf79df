"""Local development stack: emulators and the one-command runner (not used in production)."""
