"""Wiring: configuration, the command line, and (later) HTTP conventions and auth for the dialects."""
