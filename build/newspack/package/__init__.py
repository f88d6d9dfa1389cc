"""Stages 7-8: the schemas, validation and publication of the data package."""
