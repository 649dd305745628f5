"""The package version, in a module of its own: the modules that print it (reports, the HTTP
user agent) import it from here, so they do not import the package and, through it, the API."""

__version__ = "0.1.0"
