"""The product on this machine in one command (``make run``): the runner and the console.

Glue, never shipped: it may import both ``addon`` (the backend it starts, the records the
console shows) and ``localgoogle`` (the emulators it serves). ``runner`` supervises the
processes; ``emulator_stack`` is the emulator process (local Google + fake vendor +
console); ``console`` is the web page a person uses to try the add-on.
"""
