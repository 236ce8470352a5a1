"""Built-in configuration templates, one JSON file each (see seatkeeper.profiles.catalog)."""
