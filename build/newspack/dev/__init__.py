"""Development tools, not pipeline stages: benchmark, evaluation, golden row counts."""
