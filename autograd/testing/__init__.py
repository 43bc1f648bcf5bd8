"""Tools to check derivatives: `gradcheck` and hypothesis strategies (filled in by issue 5)."""
