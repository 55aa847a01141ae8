"""Committed locale data (locales.json) and the script that builds it (build_data.py)."""
