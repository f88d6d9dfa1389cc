"""Stage 4, per dump: the NLP analysis of every text (spaCy entity spans, quantulum3 figures)."""
