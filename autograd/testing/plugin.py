"""pytest plugin: registers chaingrad's hypothesis profiles (filled in by issue 5)."""
