#!/usr/bin/env python3
"""Consistency checks for the hand-annotated evaluation corpus.

Run:  python3 tests/gold/check_gold.py [--review]

Checks (errors make the exit code 1):
  * entities.yaml / figures.yaml parse and have the same keys;
  * every key is a title that occurs verbatim in one of the set's dumps (or, for a
    "HEADERLESS: " key, the first "- " bullet of a headerless article);
  * every article found in the dumps has a key;
  * every entity has at least one spelling that occurs in its article;
  * every figure is "VALUE UNIT" with a numeric VALUE and a unit, and the words quoted
    in its comment (alternatives separated by " / ", notes in [...]) occur in the article.
With --review it also prints, per article, the numbers and capitalised words that no
gold item or "# not:" note covers, for a human to look at.

This script only checks the gold files against the dumps; it knows nothing of the
pipeline under evaluation.
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent
TYPES = {"PERSON", "GPE", "LOC", "NORP", "ORG", "FAC", "PRODUCT", "EVENT", "LAW", "optional"}
CURRENCIES = {"USD", "SAR", "AED", "PKR", "EUR", "QAR", "OMR", "IRR", "AFN"}
META = re.compile(r"^(Short Url|Follow|Updated .*|https://arab\.news/\S+)\s*$")


def split_articles(text, keys):
    """Return {key: article text} using the known titles as article starts."""
    lines = text.split("\n")
    starts = []
    for i, line in enumerate(lines):
        s = line.strip()
        prev_blank = i == 0 or (
            i >= 2 and lines[i - 1].strip() == "" and lines[i - 2].strip() == ""
        )
        if not prev_blank:
            continue
        if (
            s.startswith("https://arab.news/")
            and i + 1 < len(lines)
            and lines[i + 1].startswith("- ")
        ):
            starts.append((i, "HEADERLESS: " + lines[i + 1][2:].strip()))
        elif s and s in keys:
            starts.append((i, s))
    out = {}
    for n, (i, key) in enumerate(starts):
        j = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        out[key] = "\n".join(lines[i:j]).rstrip("\n")
    return out, len(starts)


def content(article):
    return "\n".join(l for l in article.split("\n") if not META.match(l.strip()))


def body_words(article):
    """Words of the article from its dateline paragraph on (title block excluded)."""
    lines = article.split("\n")
    for i, l in enumerate(lines):
        if re.match(r"^[A-Za-z]+(\s[A-Za-z]+)?\s?[:–-]\s", l) and not l.startswith(("  •", "- ")):
            return len(" ".join(lines[i:]).split())
    return 0


def occurs(name, text):
    """Exact, case-sensitive match; an upper-case dateline (RIYADH:) also counts."""
    for n in (name, name.upper()):
        if re.search(r"(?<![\w])" + re.escape(n) + r"(?![\w])", text):
            return True
    return False


def comment_quotes(yaml_path):
    """Map key -> list of (item, [quotes]) and key -> not-notes, from the raw YAML text."""
    quotes, notes, key = {}, {}, None
    for raw in yaml_path.read_text(encoding="utf-8").split("\n"):
        m = re.match(r'^"(.*)":\s*$', raw)
        if m:
            key = m.group(1)
            quotes[key], notes[key] = [], []
            continue
        m = re.match(r"^\s+-\s+(\"[^\"]*\"|[^#]+?)\s*#\s*(.*)$", raw)
        if m and key:
            item = m.group(1).strip('"')
            c = re.sub(r"\[[^\]]*\]", "", m.group(2))
            c = re.sub(r";\s*also\s+", " / ", c)
            qs = [q.strip() for q in c.split(" / ") if q.strip()]
            quotes[key].append((item, qs))
            continue
        m = re.match(r"^\s+#\s*not:(.*)$", raw)
        if m and key:
            notes[key].append(m.group(1))
    return quotes, notes


def check_set(name, review):
    d = ROOT / name
    errors = []
    ents = yaml.safe_load((d / "entities.yaml").read_text(encoding="utf-8"))
    figs = yaml.safe_load((d / "figures.yaml").read_text(encoding="utf-8"))
    if set(ents) != set(figs):
        errors.append(f"{name}: key sets differ: {set(ents) ^ set(figs)}")
    keys = set(ents)
    articles, n_found = {}, 0
    dumps = sorted((d / "dumps").glob("*.txt"))
    per_dump = {}
    for p in dumps:
        text = p.read_text(encoding="utf-8")
        for k in keys:
            probe = k[len("HEADERLESS: ") :] if k.startswith("HEADERLESS: ") else k
            if probe in text and k not in per_dump:
                per_dump[k] = p.name
        arts, n = split_articles(text, keys)
        n_found += n
        articles.update(arts)
    for k in keys:
        if k not in per_dump:
            errors.append(f"{name}: key not found verbatim in any dump: {k!r}")
        if k not in articles:
            errors.append(f"{name}: no article split for key {k!r}")
    if n_found != len(keys):
        errors.append(f"{name}: {n_found} articles found in dumps, {len(keys)} keys")

    quotes, notes = comment_quotes(d / "figures.yaml")
    total_words = 0
    for k, art in articles.items():
        txt = content(art)
        wc = body_words(art)
        total_words += wc
        # entities
        for t, lst in (ents.get(k) or {}).items():
            if t not in TYPES:
                errors.append(f"{name}: bad type {t} in {k!r}")
            for e in lst or []:
                forms = str(e).split("|")
                if not any(occurs(f, txt) for f in forms):
                    errors.append(f"{name}: entity {e!r} ({t}) not in article {k[:50]!r}")
        # figures
        items = figs.get(k) or []
        if len(items) != len(set(items)):
            errors.append(f"{name}: duplicate figure in {k[:50]!r}")
        for it in items:
            m = re.match(r"^(-?\d+(?:\.\d+)?) (\S.*)$", str(it))
            if not m:
                errors.append(f"{name}: malformed figure {it!r} in {k[:50]!r}")
                continue
            unit = m.group(2)
            if unit.isupper() and len(unit) == 3 and unit not in CURRENCIES:
                errors.append(f"{name}: unknown currency {unit} in {k[:50]!r}")
        for it, qs in quotes.get(k, []):
            for q in qs:
                if q not in txt:
                    errors.append(f"{name}: quote {q!r} for {it!r} not in article {k[:50]!r}")
        if review:
            review_article(name, k, txt, ents.get(k) or {}, quotes.get(k, []), notes.get(k, []), wc)
    return errors, len(articles), total_words


MONTHS_DAYS = set(
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Sept",
        "Dec",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
)
NUMWORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand|half|quarter"
STOP = set(
    [
        "A",
        "An",
        "The",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "In",
        "On",
        "At",
        "Of",
        "For",
        "From",
        "By",
        "With",
        "As",
        "But",
        "And",
        "Or",
        "If",
        "When",
        "While",
        "Our",
        "We",
        "Every",
        "Some",
        "Most",
        "Many",
        "Nobody",
        "Here",
        "Now",
        "Visitors",
        "Farmers",
        "Residents",
        "Officials",
        "Analysts",
        "Meteorologists",
        "Police",
        "Earlier",
        "Later",
        "Since",
        "Under",
        "Among",
        "During",
        "Across",
        "Inside",
        "Chasing",
        "Refusals",
        "Vaccinators",
        "Exporters",
        "Platforms",
        "Deminers",
        "Rescuers",
        "Soldiers",
        "Volunteers",
        "Heavy",
        "Methane",
        "Pilgrims",
        "Traffic",
        "Prices",
        "Shipping",
        "Mobile",
        "Media",
        "Freedom",
        "Thermo",
        "Green",
        "Oil",
        "Government",
        "Kingdom",
        "Army",
        "Sultanate",
        "Gov",
        "Dr",
        "Lt",
        "Col",
        "Gen",
        "Maj",
        "Sayyid",
        "Sheikh",
        "Prince",
        "King",
        "Crown",
        "Minister",
        "Ministry",
        "President",
        "Deputy",
        "Prime",
        "Field",
        "Marshal",
        "Chief",
        "Secretary",
        "General",
        "Director",
        "Emir",
        "Sultan",
        "Energy",
        "Finance",
        "Interior",
        "Foreign",
        "Tourism",
        "Information",
        "Defense",
        "Federal",
        "Religious",
        "Affairs",
        "Punjab",
        "Updated",
        "Follow",
        "Short",
        "Url",
        "Festival",
        "System",
        "Project",
        "Centre",
        "Leaders",
        "Industry",
        "Social",
        "Economists",
        "Wild",
        "Afghan",
        "Magnitude",
        "Hindu",
        "Landmines",
        "Teams",
        "Rescue",
        "Saudi",
        "Pakistani",
        "Pakistan",
        "Iranian",
        "Tremors",
        "Aftershocks",
        "Foreign",
        "Afghanistan",
        "Most",
        "Nearly",
        "Roughly",
        "About",
        "Some",
        "Mine",
        "Commissioner",
        "Inspector",
        "Mines",
        "Fields",
        "Councils",
        "Trade",
        "Treasury",
        "Not",
        "Two",
        "Do",
        "He",
        "She",
        "They",
        "Their",
        "His",
        "Her",
        "Its",
        "What",
        "Chairman",
        "FM",
        "PM",
        "PM",
        "Agreement",
        "Authority",
        "Council",
        "Board",
        "Declaration",
        "Convention",
        "Act",
        "Assembly",
    ]
)


def review_article(name, key, txt, ent, quotes, notes, wc):
    covered = []
    for lst in ent.values():
        for e in lst or []:
            for f in str(e).split("|"):
                for m in re.finditer(r"(?<![\w])" + re.escape(f) + r"(?![\w])", txt):
                    covered.append(m.span())
    qtexts = [q for _, qs in quotes for q in qs]
    for n in notes:
        qtexts += re.findall(r'"([^"]+)"', n)
        qtexts += [x.strip() for x in re.split(r"[;,()]", n) if x.strip()]
    qspans = []
    for q in qtexts:
        for m in re.finditer(re.escape(q), txt):
            qspans.append(m.span())

    def inside(span, spans):
        return any(a <= span[0] and span[1] <= b for a, b in spans)

    print(f"\n== [{name}] {key[:80]}  (body words: {wc})")
    nums = []
    for m in re.finditer(r"\d[\d,.]*\d|\d|\b(?:" + NUMWORDS + r")\b", txt, flags=re.I):
        if not inside(m.span(), qspans):
            ctx = txt[max(0, m.start() - 25) : m.end() + 25].replace("\n", " ")
            nums.append(f"{m.group(0)!r} …{ctx}…")
    if nums:
        print("  numbers not covered:")
        for n in nums:
            print("    ", n)
    caps = []
    for m in re.finditer(r"\b[A-Z][\w\-]*", txt):
        if inside(m.span(), covered):
            continue
        w = m.group(0)
        if (
            w in STOP
            or w in MONTHS_DAYS
            or re.match(r"^(Rs|SR|Dh|QR)\d", w)
            or (w.isupper() and len(w) > 3)
        ):
            continue
        caps.append(w)
    if caps:
        print("  capitalised, not covered:", sorted(set(caps)))


def main():
    review = "--review" in sys.argv
    all_err, grand = [], 0
    for s in ("dev", "test"):
        errs, n, words = check_set(s, review)
        all_err += errs
        grand += words
        print(f"{s}: {n} articles, {words} body words")
    print(f"total body words: {grand}")
    for e in all_err:
        print("ERROR:", e)
    print("OK" if not all_err else f"{len(all_err)} error(s)")
    sys.exit(1 if all_err else 0)


if __name__ == "__main__":
    main()
