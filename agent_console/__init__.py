"""The agent console's pages, scripts and styles (data only; served by chatserver.web.console).

A package so that `pip install .` ships it: chatserver finds it by import spec.
"""
