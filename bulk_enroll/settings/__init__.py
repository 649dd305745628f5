"""Settings: the TOML file and the environment -> typed settings, parsed once.

See docs/ARCHITECTURE.md for where a new setting goes.
"""
