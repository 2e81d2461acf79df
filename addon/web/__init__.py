"""HTTP surfaces of the add-on: one blueprint per surface (Calendar callbacks, health)."""
