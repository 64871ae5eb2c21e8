"""Sites (storefronts) and the deployment-wide secret."""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from redis.asyncio import Redis

from chatserver.core import site_events, widget_settings
from chatserver.core.model import Site
from chatserver.store import keys


async def save_site(redis: Redis, site: Site) -> None:
    """Create or replace a site's settings."""
    data: dict[str, Any] = {
        "key": site.key,
        "name": site.name,
        "departments": list(site.departments),
        "allowed_origins": list(site.allowed_origins),
        "identity_secret": site.identity_secret,
    }
    widget = widget_settings.to_dict(site.widget)
    if widget:  # only when set: older processes read the site as before
        data["widget"] = widget
    await redis.hset(keys.SITES, site.key, orjson.dumps(data))
    # Processes that keep the site (gateway/cache.py SiteCache) read it again.
    changed = site_events.encode(site_events.SiteEvent(site_events.Kind.SITE))
    await redis.publish(keys.site_channel(site.key), orjson.dumps(changed))


async def load_site(redis: Redis, key: str) -> Site | None:
    """The site with public key `key`, or None.

    Read on every shopper's handshake; the same stored JSON gives the same (immutable) Site
    object, so 10,000 sockets of one site share one instead of each parsing and keeping its
    own copy. An edit stores different JSON and is seen by the next read, as before."""
    raw = await redis.hget(keys.SITES, key)
    if raw is None:
        return None
    site = _PARSED.get(raw)
    if site is None:
        if len(_PARSED) >= MAX_PARSED:
            _PARSED.clear()
        site = _PARSED[raw] = _site_from_json(raw)
    return site


MAX_PARSED = 1024
_PARSED: dict[str | bytes, Site] = {}  # stored JSON -> the Site it describes


async def list_sites(redis: Redis) -> list[Site]:
    raw = await redis.hgetall(keys.SITES)
    return [_site_from_json(v) for _, v in sorted(raw.items())]


def _site_from_json(raw: str | bytes) -> Site:
    data = orjson.loads(raw)
    return Site(
        key=data["key"],
        name=data["name"],
        departments=tuple(data["departments"]),
        allowed_origins=tuple(data.get("allowed_origins", ())),
        identity_secret=data.get("identity_secret", ""),
        widget=widget_settings.from_dict(data.get("widget")),
    )


async def shared_secret(redis: Redis, configured: str = "") -> bytes:
    """The HMAC secret every process signs tokens with: the configured one, else one made once
    and kept in Redis (SET NX), so that all processes agree without configuration."""
    if configured:
        return configured.encode()
    await redis.set(keys.SECRET, secrets.token_hex(32), nx=True)
    value = await redis.get(keys.SECRET)
    assert value is not None
    return str(value).encode()
