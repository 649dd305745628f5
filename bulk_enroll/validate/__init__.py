"""Validate: raw cells -> typed enrollment requests and row problems. Pure."""
