"""The security suite: each finding of the open-internet review (docs/security.md) tried as an
attacker would, against real server processes on the session's Redis."""

from __future__ import annotations

# The real server processes of the integration tests.
from tests.integration.conftest import server, servers, two_servers  # noqa: F401
