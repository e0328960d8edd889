"""Terminal adapters, punch-log parsers and a terminal simulator (no database imports)."""
