"""Stages 1-3, per dump: read a dump file, split it into article blocks, parse each block."""
