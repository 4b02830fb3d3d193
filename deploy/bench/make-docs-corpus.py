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


def main(root, out_path):
    count = [0, 0]
    with open(out_path, 'w', encoding='utf-8') as out:
        def emit(text):
            text = text.strip()
            if len(text) >= 200:
                out.write(json.dumps({'text': text}) + '\n')
                count[0] += 1
                count[1] += len(text)

        kernel = os.path.join(root, 'usr/share/doc/linux-doc-6.1/Documentation')
        for d, dirs, files in os.walk(kernel):
            dirs.sort()
            for f in sorted(files):
                if f.endswith('.gz') and not f.endswith(('.svg.gz', '.png.gz', '.dot.gz')):
                    emit(gzip.open(os.path.join(d, f)).read().decode('utf-8', 'replace'))
        python = os.path.join(root, 'usr/share/doc/python3.11/html/_sources')
        for d, dirs, files in os.walk(python):
            dirs.sort()
            for f in sorted(files):
                if f.endswith('.txt'):
                    emit(open(os.path.join(d, f), encoding='utf-8', errors='replace').read())
        gcide = gzip.open(os.path.join(root, 'usr/share/dictd/gcide.dict.dz')).read().decode('utf-8', 'replace')
        chunk = []
        for entry in re.split(r'\n\s*\n', gcide):
            chunk.append(entry)
            if sum(map(len, chunk)) > 4000:
                emit('\n\n'.join(chunk))
                chunk = []
        emit('\n\n'.join(chunk))
    print(f'{out_path}: {count[0]} documents, {count[1]} characters')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: make-docs-corpus.py UNPACKED_DIR OUT.jsonl')
    main(sys.argv[1], sys.argv[2])
