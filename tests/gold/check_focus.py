#!/usr/bin/env python3
"""Standalone check of the hand-made geographic-focus gold (does not import newspack).

For each set (seed, dev, test) it checks that:
  * every focus key is a top-level key of that set's entities.yaml, and every
    entities.yaml key has a focus entry;
  * every key can be matched to an article in the set's dumps, and every article
    in the dumps has a key;
  * countries: 1-3 distinct ISO 3166-1 alpha-2 codes (checked against pycountry
    if it is installed, else against the hard-coded list below);
  * places: 0-4 distinct strings, each occurring verbatim (case-sensitive, whole
    word) in the article text (title, bullets, body, captions) of every stored
    version of the article;
  * if PyYAML is installed, the file parses to the same data as the small parser here.

Usage: python3 check_focus.py [--root CHECKOUT]    exit status 0 = OK
"""

import argparse
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ISO 3166-1 alpha-2, the 249 officially assigned codes.
ALPHA2 = set(
    """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split()
)
assert len(ALPHA2) == 249, len(ALPHA2)
try:  # prefer the real registry when available
    import pycountry  # type: ignore

    ALPHA2 = {c.alpha_2 for c in pycountry.countries}
    CODE_SOURCE = "pycountry"
except ImportError:
    CODE_SOURCE = "hard-coded list (249 codes)"

NOT_TEXT = re.compile(r"^(Short Url|Updated .*|Follow|https?://\S+)$")
KEY_LINE = re.compile(r'^(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][\w]*))\s*:\s*(?:#\s*(.*))?$')


def norm_quotes(s):
    return (
        s.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )


def parse_list(s, where):
    s = s.split(" #")[0].strip()
    if not (s.startswith("[") and s.endswith("]")):
        raise ValueError(f"{where}: expected a [flow list], got {s!r}")
    inner = s[1:-1].strip()
    return [x.strip().strip('"') for x in inner.split(",")] if inner else []


def parse_focus(path):
    """Minimal parser for the fixed focus format; returns {key: {countries, places}}."""
    data, key = {}, None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            m = KEY_LINE.match(line)
            if not m:
                raise ValueError(f"{path}:{n}: bad key line {line!r}")
            key = m.group(1) if m.group(1) is not None else m.group(2)
            if key in data:
                raise ValueError(f"{path}:{n}: duplicate key {key!r}")
            data[key] = {}
            continue
        field, _, rest = line.strip().partition(":")
        if key is None or field not in ("countries", "places"):
            raise ValueError(f"{path}:{n}: unexpected line {line!r}")
        data[key][field] = parse_list(rest, f"{path}:{n}")
    return data


def entity_keys(path):
    """Top-level keys of an entities.yaml, with the title comment (seed IDs)."""
    keys = {}
    for line in open(path, encoding="utf-8"):
        if line.startswith((" ", "#")) or not line.strip():
            continue
        m = KEY_LINE.match(line.rstrip("\n"))
        if m:
            keys[m.group(1) if m.group(1) is not None else m.group(2)] = (m.group(3) or "").strip()
    return keys


def articles(dump_files):
    """Yield (title_key, text) per article; articles are separated by exactly two blank lines."""
    for f in dump_files:
        raw = "\n".join(l.rstrip() for l in open(f, encoding="utf-8").read().split("\n"))
        for block in re.split(r"(?<!\n)\n\n\n(?!\n)", raw.strip("\n")):
            lines = [l for l in block.split("\n")]
            first = next(l for l in lines if l.strip())
            if first.startswith("http"):
                bullet = next(l for l in lines if l.startswith("- "))
                title = "HEADERLESS: " + bullet[2:].strip()
            else:
                title = first.strip()
            text = "\n".join(l for l in lines if not NOT_TEXT.match(l.strip()))
            yield title, text, os.path.basename(f)


def check_set(name, focus_path, entities_path, dump_glob, errors):
    focus = parse_focus(focus_path)
    try:
        import yaml  # optional cross-check

        y = yaml.safe_load(open(focus_path, encoding="utf-8"))
        if {
            k: {f: list(v.get(f) or []) for f in ("countries", "places")} for k, v in y.items()
        } != {k: {f: v.get(f, []) for f in ("countries", "places")} for k, v in focus.items()}:
            errors.append(f"[{name}] PyYAML and the minimal parser disagree on {focus_path}")
    except ImportError:
        pass
    ekeys = entity_keys(entities_path)
    arts = {}
    for title, text, fname in articles(sorted(glob.glob(dump_glob))):
        arts.setdefault(title, []).append((text, fname))
    # map each entities key to the article title(s)
    key_to_title = {}
    for k, comment in ekeys.items():
        if k in arts:
            key_to_title[k] = k
        else:  # seed: ID key whose comment carries the (possibly abridged) title
            stem = norm_quotes(comment).rstrip(". …").strip()
            hits = [t for t in arts if stem and norm_quotes(t).startswith(stem)]
            if len(hits) == 1:
                key_to_title[k] = hits[0]
            else:
                errors.append(f"[{name}] entities key {k!r}: {len(hits)} matching articles")
    for t in arts:
        if t not in key_to_title.values():
            errors.append(f"[{name}] article without an entities key: {t!r}")
    for k in ekeys:
        if k not in focus:
            errors.append(f"[{name}] entities key has no focus entry: {k!r}")
    n = {1: 0, 2: 0, 3: 0}
    for k, v in focus.items():
        if k not in ekeys:
            errors.append(f"[{name}] focus key not in entities.yaml: {k!r}")
            continue
        cs, ps = v.get("countries"), v.get("places")
        if cs is None or ps is None:
            errors.append(f"[{name}] {k!r}: needs both countries and places")
            continue
        if not 1 <= len(cs) <= 3 or len(set(cs)) != len(cs):
            errors.append(f"[{name}] {k!r}: 1-3 distinct countries needed, got {cs}")
        else:
            n[len(cs)] += 1
        for c in cs:
            if not re.fullmatch(r"[A-Z]{2}", c) or c not in ALPHA2:
                errors.append(f"[{name}] {k!r}: invalid ISO alpha-2 code {c!r}")
        if len(ps) > 4 or len(set(ps)) != len(ps):
            errors.append(f"[{name}] {k!r}: at most 4 distinct places, got {ps}")
        for text, fname in arts.get(key_to_title.get(k), []):
            for p in ps:
                if not re.search(r"(?<!\w)" + re.escape(p) + r"(?!\w)", text):
                    errors.append(f"[{name}] {k!r}: place {p!r} not in article text ({fname})")
    print(
        f"{name}: {len(focus)} articles ({len(arts)} in dumps); countries 1/2/3 = "
        f"{n[1]}/{n[2]}/{n[3]}; places = {sum(len(v.get('places', [])) for v in focus.values())}"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--root", default=os.path.dirname(os.path.dirname(HERE)), help="project checkout"
    )
    a = ap.parse_args()
    g = os.path.join(a.root, "tests", "gold")
    errors = []
    check_set(
        "seed",
        os.path.join(HERE, "focus.yaml"),
        os.path.join(g, "entities.yaml"),
        os.path.join(a.root, "dumps", "*.txt"),
        errors,
    )
    for s in ("dev", "test"):
        check_set(
            s,
            os.path.join(HERE, s, "focus.yaml"),
            os.path.join(g, s, "entities.yaml"),
            os.path.join(g, s, "dumps", "*.txt"),
            errors,
        )
    print(f"country codes checked against: {CODE_SOURCE}")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
