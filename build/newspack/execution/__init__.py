"""Stages 1-4, run per dump: the task, the local executor, the store and its cache."""
