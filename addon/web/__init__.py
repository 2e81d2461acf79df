"""HTTP surfaces of the add-on: one blueprint per surface (Calendar callbacks, Cloud Tasks
deliveries, health)."""
