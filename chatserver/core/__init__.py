"""The rules of the domain, in plain Python: no I/O, no Redis, no web framework."""
