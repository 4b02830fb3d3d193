#!/usr/bin/env python3
"""Builds an English corpus of ~90 MB (about 31 M tokens at vocabulary 4 096) as JSON lines, from three Debian
bookworm packages, for averaging runs longer than the bundled Brown corpus allows (docs/BENCHMARKS.md).

Usage: apt-get download dict-gcide linux-doc-6.1 python3.11-doc
       for f in *.deb; do dpkg-deb -x "$f" x; done
       deploy/bench/make-docs-corpus.py x big.jsonl

Documents: every reStructuredText file of the kernel's Documentation/ (gzipped in the package; images and graphs
skipped), every reStructuredText source of the Python 3.11 manual, and the GNU Collaborative International
Dictionary of English cut into documents of about 4 000 characters at entry boundaries. Documents under 200
characters are dropped. Files are walked in sorted order, so the same package versions give the same bytes.
"""
import gzip
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_extract import read_maybe_gz, walk_sorted  # noqa: E402

KERNEL = 'usr/share/doc/linux-doc-6.1/Documentation'
PYTHON = 'usr/share/doc/python3.11/html/_sources'
GCIDE = 'usr/share/dictd/gcide.dict.dz'
MIN_CHARS = 200
GCIDE_CHUNK_CHARS = 4000


def documents(root):
    """Every document in order, before the MIN_CHARS filter."""
    # with_links: the measured corpus has Documentation/Changes.gz, a link to process/changes.rst.gz, twice
    for path in walk_sorted(os.path.join(root, KERNEL), with_links=True):
        if path.endswith('.gz') and not path.endswith(('.svg.gz', '.png.gz', '.dot.gz')):
            yield read_maybe_gz(path).decode('utf-8', 'replace')
    for path in walk_sorted(os.path.join(root, PYTHON)):
        if path.endswith('.txt'):
            yield read_maybe_gz(path).decode('utf-8', 'replace')
    with gzip.open(os.path.join(root, GCIDE)) as f:  # dictzip is gzip-readable
        gcide = f.read().decode('utf-8', 'replace')
    chunk, size = [], 0
    for entry in re.split(r'\n\s*\n', gcide):
        chunk.append(entry)
        size += len(entry)
        if size > GCIDE_CHUNK_CHARS:
            yield '\n\n'.join(chunk)
            chunk, size = [], 0
    yield '\n\n'.join(chunk)


def main(root, out_path):
    docs = chars = 0
    with open(out_path, 'w', encoding='utf-8') as out:
        for text in documents(root):
            text = text.strip()
            if len(text) >= MIN_CHARS:
                out.write(json.dumps({'text': text}) + '\n')
                docs += 1
                chars += len(text)
    print(f'{out_path}: {docs} documents, {chars} characters')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: make-docs-corpus.py UNPACKED_DIR OUT.jsonl')
    main(sys.argv[1], sys.argv[2])
