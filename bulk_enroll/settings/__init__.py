"""Settings: the TOML file and the environment -> typed settings, parsed once."""
