"""Every frame type a role accepts has its handler: a frame is handled by `on_<type>`,
looked up per frame (a socket keeps no dict of bound methods)."""

from __future__ import annotations

import inspect

import pytest

from chatserver.gateway.agent import AgentConnection
from chatserver.gateway.connection import Connection
from chatserver.gateway.shopper import ShopperConnection


@pytest.mark.parametrize("role", [ShopperConnection, AgentConnection])
def test_every_accepted_frame_type_has_a_coroutine_handler(role: type[Connection]) -> None:
    assert role.frame_specs, "no frame types"
    missing = [
        kind
        for kind in role.frame_specs
        if not inspect.iscoroutinefunction(getattr(role, f"on_{kind}", None))
    ]
    assert missing == []
