"""Routing to OpenAI-compatible upstreams, from the routing file (docs/routing.md).

config.py (the file's models) ← load.py (YAML → schema → checks.py; problems.py names key
paths) ← reload.py (the config in force, swapped on a valid edit). pick.py is the pure pick
function the service and `lukhas routes preview` share; it reads a cooldown.py snapshot and
raises the errors.py errors.
"""
