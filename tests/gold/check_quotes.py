#!/usr/bin/env python3
"""Standalone consistency check of the quotation / entity / figure / focus gold against the
dumps, by plain string search. Does not import the pipeline.

Checks, per set (seed, dev, test):
  * every quotes.yaml key is an article found in the set's dumps;
  * every `quote` prefix occurs verbatim in its article; its length is 6-10 words, or the
    whole quotation when that is shorter;
  * every speaker form occurs in the article (case-insensitive); named/speaker/kind agree;
  * every quoted span of 3+ words in the article is covered by a gold entry (a span that
    starts with a gold prefix); spans that are only nested inside another are ignored;
  * for the new articles: every form of every entity occurs in the article
    (case-insensitive), the quoted words of every figure comment occur, and every focus
    place occurs.

Usage: python3 check_quotes.py [--root DIR] [--main DIR]
  --root: folder holding quotes.yaml, dev/, test/ (default: this script's folder)
  --main: project checkout holding dumps/ and tests/gold/ (default: the checkout this script is in)
Exit code 0 when everything passes.
"""

import argparse
import glob
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

# Seed keys (article IDs, tests/gold/entities.yaml) -> title as it appears in the dumps.
SEED_TITLES = {
    "art_0620037fa16dad23": "Pakistan government rules out joint security force with China despite Xi’s pressure",
    "art_3874b430963f3edd": "Pakistan seeks overland access to Central Asia, Europe in talks with Kazakh deputy PM",
    "art_4894a2c6c8c33001": "Pakistan, Turkiye agree on closer cooperation in defense, energy, AI at ministerial talks",
    "art_51ef17aa3366cf97": "Pakistan vaccinates over 19.3 million children as anti-polio drive concludes today",
    "art_60d253e6b0dfb6f1": "Amnesty says Pakistan spying on millions through phone-tapping, firewall",
    "art_a005ad5b315f0ea4": "Pakistan’s military chief Asim Munir in spotlight over Trump’s Gaza plan",
    "art_b4256ac3bd9354bc": "UN allocates $5 million to bolster Pakistan’s flood relief efforts",
}

QUOTE_RE = re.compile(r'“([^”“]*)[”“]|"([^"\n]*)"|(?<![A-Za-z])‘(.+?)’(?![A-Za-z])')

errors = []


def err(msg):
    errors.append(msg)
    print("ERROR:", msg)


def load(path):
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def read_dumps(paths):
    return {p: open(p, encoding="utf-8").read() for p in paths}


def locate(title):
    """Search string for a key's title in the dump."""
    if title.startswith("HEADERLESS: "):
        return "- " + title[len("HEADERLESS: ") :]
    return title


def split_articles(dumps, titles):
    """titles: {key: title}. Returns {key: text}; a key found in several dumps gets the
    concatenation of its versions."""
    out = {}
    for text in dumps.values():
        starts = []
        for key, title in titles.items():
            i = text.find(locate(title))
            if i >= 0:
                # the headerless article starts at its URL line
                j = text.rfind("\n\n\n", 0, i)
                starts.append((j + 3 if j >= 0 and title.startswith("HEADERLESS") else i, key))
        starts.sort()
        for n, (i, key) in enumerate(starts):
            end = starts[n + 1][0] if n + 1 < len(starts) else len(text)
            out[key] = out.get(key, "") + "\n" + text[i:end]
    return out


def occurs(form, text):
    """Case-insensitive occurrence of a name as whole words."""
    return re.search(r"(?<!\w)" + re.escape(form) + r"(?!\w)", text, re.I) is not None


def forms(value):
    return [f.strip() for f in str(value).split("|") if f.strip()]


def quoted_spans(text):
    spans = []
    for m in QUOTE_RE.finditer(text):
        s = next(g for g in m.groups() if g is not None)
        if len(s.split()) >= 3:
            spans.append((m.start(), m.end(), s))
    # drop spans nested inside a longer one (‘…’ inside “…”)
    return [s for s in spans if not any(o[0] < s[0] and s[1] <= o[1] for o in spans if o is not s)]


def check_quotes(setname, quotes, articles):
    n_named = n_unnamed = 0
    for key, entries in quotes.items():
        art = articles.get(key)
        if art is None:
            err(f"[{setname}] key not found in dumps: {key}")
            continue
        prefixes = []
        for e in entries or []:
            q = e.get("quote")
            if not q or q not in art:
                err(f"[{setname}] {key[:50]}: quote prefix not in article: {q!r}")
                continue
            prefixes.append(q)
            nw = len(q.split())
            if nw > 10:
                err(f"[{setname}] {key[:50]}: prefix longer than 10 words: {q!r}")
            if nw < 6:
                # must be the whole quotation
                whole = any(
                    s.rstrip(",.;:!? ").rstrip("“”") == q.rstrip(",.;:!? ")
                    for _, _, s in quoted_spans(art)
                )
                if not whole:
                    err(f"[{setname}] {key[:50]}: short prefix is not a whole quotation: {q!r}")
            named, speaker, kind = e.get("named"), e.get("speaker"), e.get("kind")
            if kind not in ("person", "organisation", "none"):
                err(f"[{setname}] {key[:50]}: bad kind {kind!r} for {q!r}")
            if named:
                n_named += 1
                if not speaker:
                    err(f"[{setname}] {key[:50]}: named but no speaker: {q!r}")
                for f in forms(speaker or ""):
                    if not occurs(f, art):
                        err(f"[{setname}] {key[:50]}: speaker form not in article: {f!r}")
            else:
                n_unnamed += 1
                if speaker is not None:
                    err(f"[{setname}] {key[:50]}: named: false but speaker set: {q!r}")
            if not e.get("cue"):
                err(f"[{setname}] {key[:50]}: no cue for {q!r}")
        # coverage: every quoted span of 3+ words starts with some gold prefix
        for _, _, s in quoted_spans(art):
            if not any(s.startswith(p) for p in prefixes):
                err(f"[{setname}] {key[:50]}: quoted span without gold entry: {s[:60]!r}")
    return n_named, n_unnamed


def check_new(setname, ents, figs, focus, articles):
    for key, types in ents.items():
        art = articles.get(key)
        if art is None:
            err(f"[{setname}] entities_new key not in dumps: {key}")
            continue
        for typ, items in types.items():
            for item in items or []:
                for f in forms(item):
                    if not occurs(f, art):
                        err(f"[{setname}] {key[:40]}: {typ} form not in article: {f!r}")
    for key, f in focus.items():
        art = articles.get(key)
        if art is None:
            err(f"[{setname}] focus_new key not in dumps: {key}")
            continue
        if len(f.get("countries", [])) > 3:
            err(f"[{setname}] {key[:40]}: more than 3 countries")
        for p in f.get("places", []):
            if not occurs(p, art):
                err(f"[{setname}] {key[:40]}: focus place not in article: {p!r}")


def check_figure_comments(setname, path, articles):
    """Quoted words in figure comments (before any [note]) occur in the article."""
    if not os.path.exists(path):
        return
    figs = load(path)
    key = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r'^"(.*)":\s*$', line)
        if m:
            key = m.group(1)
            if key not in articles:
                err(f"[{setname}] figures_new key not in dumps: {key}")
            continue
        m = re.match(r"^\s+- .*?#\s*(.*)$", line)
        if m and key in articles:
            comment = re.sub(r"\[.*?\]", "", m.group(1)).strip()
            for piece in comment.split(" / "):
                piece = piece.strip()
                if piece and piece not in articles[key]:
                    err(f"[{setname}] {key[:40]}: figure comment not in article: {piece!r}")
    return figs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=HERE)
    ap.add_argument("--main", default=os.path.dirname(os.path.dirname(HERE)))
    a = ap.parse_args()
    gold = os.path.join(a.main, "tests", "gold")
    summary = []

    # seed
    dumps = read_dumps(sorted(glob.glob(os.path.join(a.main, "dumps", "*.txt"))))
    arts = split_articles(dumps, SEED_TITLES)
    q = load(os.path.join(a.root, "quotes.yaml"))
    summary.append(("seed",) + check_quotes("seed", q, arts))

    for s in ("dev", "test"):
        paths = sorted(glob.glob(os.path.join(gold, s, "dumps", "*.txt")))
        paths += sorted(glob.glob(os.path.join(a.root, s, "dumps", "*.txt")))
        # de-duplicate by file name (the new dump may already be copied into the project)
        seen, uniq = set(), []
        for p in paths:
            if os.path.basename(p) not in seen:
                seen.add(os.path.basename(p))
                uniq.append(p)
        dumps = read_dumps(uniq)
        ents = load(os.path.join(gold, s, "entities.yaml"))
        new_path = os.path.join(a.root, s, "entities_new.yaml")
        new_ents = load(new_path) if os.path.exists(new_path) else {}
        titles = {k: k for k in list(ents) + list(new_ents)}
        arts = split_articles(dumps, titles)
        for k in titles:
            if k not in arts:
                err(f"[{s}] entity key not found in dumps: {k}")
        q = load(os.path.join(a.root, s, "quotes.yaml"))
        missing = [k for k in titles if k not in q]
        for k in missing:
            err(f"[{s}] article has no quotes entry: {k}")
        summary.append((s,) + check_quotes(s, q, arts))
        if new_ents:  # the annotator's staging folder: the new articles' other gold
            check_new(s, new_ents, {}, load(os.path.join(a.root, s, "focus_new.yaml")), arts)
            check_figure_comments(s, os.path.join(a.root, s, "figures_new.yaml"), arts)

    for s, n, u in summary:
        print(f"{s}: {n + u} quotations ({n} named, {u} unnamed)")
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
