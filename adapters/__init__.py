"""API dialects, one folder each (`v2`, `v4`, `v5`), and what they share (`common`)."""
