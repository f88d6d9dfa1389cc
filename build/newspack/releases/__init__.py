"""After the build: release, diff, fetch and query published packages."""
