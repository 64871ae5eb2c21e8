"""The only code that talks to Redis: keys, Lua scripts, and the operations built on them."""
