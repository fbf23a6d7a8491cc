"""The practice library: published practices across meetings, searched, faceted and served as JSON."""
