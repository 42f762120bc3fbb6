"""Personal data: erasure across every layer and file."""
