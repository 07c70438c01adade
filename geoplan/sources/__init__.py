"""Inputs: OpenStreetMap extracts and their tags, user layers, coordinate systems and datums, fetched data."""
