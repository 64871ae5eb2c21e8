"""The load generator: `python -m load SCENARIO [options]` (docs/performance.md).

A controller process starts a throwaway Redis and chat server(s) on 127.0.0.1, seeds a site,
and drives worker processes that open the sockets and keep the books on every message.
"""
