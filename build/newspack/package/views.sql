-- Views of the newspack DuckDB file (publish stage). Tables are documented by COMMENT ON.

-- The canonical text of every article: title, bullets and body in reading order.
CREATE VIEW article_text AS
SELECT
    a.article_id,
    a.title,
    a.dateline_city,
    a.updated_at,
    (SELECT string_agg(b.text, chr(10) ORDER BY b.position)
       FROM bullets b
      WHERE b.article_id = a.article_id AND b.version = a.canonical_version) AS bullets,
    (SELECT string_agg(p.text, chr(10) || chr(10) ORDER BY p.position)
       FROM paragraphs p
      WHERE p.article_id = a.article_id AND p.version = a.canonical_version) AS body
FROM articles a;
COMMENT ON VIEW article_text IS 'Canonical text of every article: bullets joined by newlines, paragraphs and headings by blank lines.';

-- Every version of every article with the dump and crawl time it came from.
CREATE VIEW version_history AS
SELECT
    v.article_id,
    v.version,
    v.is_canonical,
    v.title,
    v.updated_raw,
    v.updated_at,
    v.updated_at_inferred,
    v.dump_id,
    d.crawl_time,
    d.crawl_time_source,
    v.bullet_count,
    v.paragraph_count,
    v.word_count,
    v.is_truncated
FROM article_versions v
JOIN dumps d USING (dump_id);
COMMENT ON VIEW version_history IS 'Every article version with its dump and crawl time, in version order.';

-- How every dump's lines were accounted for.
CREATE VIEW ledger_summary AS
SELECT dump_id, status, reason, count(*) AS lines
FROM line_ledger
GROUP BY ALL;
COMMENT ON VIEW ledger_summary IS 'Number of lines per dump, status and reason.';

-- Who and what each article (canonical version) mentions, most mentioned first.
CREATE VIEW article_entities AS
SELECT
    a.article_id,
    a.title,
    e.entity_id,
    e.name,
    e.entity_type,
    count(*) AS mentions
FROM articles a
JOIN mentions m ON m.article_id = a.article_id AND m.version = a.canonical_version
JOIN entities e USING (entity_id)
GROUP BY ALL;
COMMENT ON VIEW article_entities IS 'Entities each article mentions in its canonical version, with the number of mentions.';

-- Everything each speaker said (canonical versions), through the speaker's entity: "Sharif",
-- "Prime Minister Shehbaz Sharif", "he" and "the prime minister" are one speaker.
CREATE VIEW quotes_by_speaker AS
SELECT
    e.entity_id,
    e.name AS speaker,
    e.entity_type,
    q.speaker_role,
    a.article_id,
    a.title,
    a.updated_at,
    q.quotation,
    q.speaker_rule,
    q.cue,
    q.dump_id,
    q.line
FROM quotes q
JOIN articles a ON a.article_id = q.article_id AND a.canonical_version = q.version
JOIN entities e ON e.entity_id = q.speaker_entity_id;
COMMENT ON VIEW quotes_by_speaker IS 'Every quotation of a canonical version whose speaker is an entity, with the speaker, article and date.';

-- Every article by the places it is about (article_focus), main country first: filter on
-- subdivision_code for a province and its cities ('PK-SD': Sindh, Dadu, Karachi), on
-- country_code for a country, on rank = 1 for the main focus only.
CREATE VIEW articles_by_place AS
SELECT
    f.country_code,
    f.subdivision_code,
    f.place_kind,
    e.name AS place,
    f.place_entity_id,
    f.rank,
    f.score,
    f.basis,
    a.article_id,
    a.title,
    a.dateline_city,
    a.updated_at
FROM article_focus f
JOIN articles a USING (article_id)
LEFT JOIN entities e ON e.entity_id = f.place_entity_id;
COMMENT ON VIEW articles_by_place IS 'Every article with each country it is about (rank 1 the main one) and the most specific place there, with its province code.';
