"""Stages 5-6, corpus-level: identity, canonical entities, figures and quotes as tables."""
