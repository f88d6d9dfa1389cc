"""newspack: turns dumps of scraped news pages into a validated, versioned data package."""

__version__ = "0.1.0"
