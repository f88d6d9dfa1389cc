"""Stage 6, enrich (figures): the figures table, from each text's figures (nlp/figures.py).

A figure's ID is where it starts in which text (ids.py); the end of a range points at its
other end by that ID (related_figure_id).
"""

from __future__ import annotations

from newspack.tables.frames import row_from
from newspack.tables.ids import text_item_id


def figure_rows(src_list, analyses: dict) -> list[dict]:
    """Rows of the figures table, from the analysis of each source's text (analyse.py)."""
    rows = []
    for src in src_list:
        found = analyses[src.text].figures
        cut = src.cut_word_start()
        kept = [cut is None or f.end <= cut for f in found]  # no figure in a cut-off word
        ids = [
            text_item_id("figure", src.article_id, src.version, src.source, src.position, f.start)
            for f in found
        ]
        for figure, figure_id, keep in zip(found, ids, kept, strict=True):
            if not keep:
                continue
            linked = figure.related is not None and kept[figure.related]
            related = ids[figure.related] if linked else None
            rows.append(
                row_from(
                    "figures",
                    figure,
                    figure_id=figure_id,
                    **src.placement(),
                    surface=figure.text,
                    figure_kind=figure.kind,
                    related_figure_id=related,
                )
            )
    return rows
