#!/usr/bin/env python3
"""Mix the extracted texts into one deduplicated, deterministic, language-interleaved corpus.

Usage: corpus_mix.py TEXT_DIR OUT_FILE [--target-mb 230] [--report REPORT.tsv]

TEXT_DIR holds <source>/<lang>.txt files (see corpus_extract.py; the shell script adds brown/en.txt and
bible/<lang>.txt). Steps:
  1. every line is whitespace-normalised and kept only if it has at least 2 letters (Unicode categories L*) and no
     U+FFFD; lines are deduplicated exactly, across all sources, in a fixed source order (Brown first, so it is in
     whole, once);
  2. if the unique text exceeds --target-mb, lines written mostly in Latin script (at least half of their letters
     Latin) are thinned, uniformly over all sources except brown and bible (kept whole), so that every non-Latin
     line is kept and the non-Latin share grows; only if that is not enough are the other lines thinned too. A line
     is kept when a hash of its text falls below the keep rate, so the choice does not depend on file order;
  3. the lines are written in the order of a hash of their text (a fixed pseudo-random interleaving of languages).
Prints (and writes to --report) the size, line count, unique whitespace-separated words, bytes per script, bytes per
source and per language.
"""
import collections
import hashlib
import os
import re
import sys

KEEP_WHOLE = ['brown', 'bible']
ORDER = ['brown', 'bible', 'fortune']  # then the rest sorted by name

LETTER = re.compile(r'[^\W\d_]')
LATIN = re.compile(r'[A-Za-z\u00c0-\u024f\u1e00-\u1eff]')

SCRIPTS = [
    ('Latin (ASCII letters)', 'A-Za-z'),
    ('Latin (accented / extended)', '\u00c0-\u024f\u1e00-\u1eff\u0250-\u02af'),
    ('Cyrillic', '\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f'),
    ('Greek', '\u0370-\u03ff\u1f00-\u1fff'),
    ('Arabic', '\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff'),
    ('Hebrew', '\u0590-\u05ff\ufb1d-\ufb4f'),
    ('CJK ideographs (Han)', '\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\U00020000-\U0003ffff'),
    ('Japanese kana', '\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f'),
    ('Hangul', '\uac00-\ud7af\u1100-\u11ff\u3130-\u318f'),
    ('CJK punctuation / fullwidth forms', '\u3000-\u303f\uff00-\uff65\uffa0-\uffef'),
    ('Indic (Devanagari .. Sinhala)', '\u0900-\u0dff'),
    ('Thai, Lao, Tibetan, Myanmar, Khmer', '\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff'),
    ('Armenian, Georgian, Ethiopic', '\u0530-\u058f\u10a0-\u10ff\u1200-\u139f\u2d00-\u2d2f'),
    ('ASCII digits, punctuation, space', '\x20-\x40\x5b-\x60\x7b-\x7e'),
]
SCRIPT_RES = [(name, re.compile('[' + ranges + ']+')) for name, ranges in SCRIPTS]


def h64(line):
    return int.from_bytes(hashlib.blake2b(line.encode('utf-8'), digest_size=8).digest(), 'big')


def load(text_dir):
    sources = sorted(d for d in os.listdir(text_dir) if os.path.isdir(os.path.join(text_dir, d)))
    sources = [s for s in ORDER if s in sources] + [s for s in sources if s not in ORDER]
    seen = set()
    kept = []  # (hash, line, source, lang, mostly Latin script)
    raw = collections.Counter()
    for src in sources:
        for fn in sorted(os.listdir(os.path.join(text_dir, src))):
            if not fn.endswith('.txt'):
                continue
            lang = fn[:-4]
            with open(os.path.join(text_dir, src, fn), encoding='utf-8', errors='replace') as f:
                for line in f:
                    line = ' '.join(line.split())
                    if not line or '\ufffd' in line:
                        continue
                    raw[src] += 1
                    if line in seen:
                        continue
                    letters = len(LETTER.findall(line))
                    if letters < 2:
                        continue
                    seen.add(line)
                    latin = 2 * len(LATIN.findall(line)) >= letters
                    kept.append((h64(line), line, src, lang, latin))
        print(f'loaded {src}: {len(kept)} unique lines so far', file=sys.stderr, flush=True)
    return kept


def nbytes(items):
    return sum(len(it[1].encode('utf-8')) + 1 for it in items)


def thin(kept, target):
    """Returns the kept lines and the keep rates used for Latin-script lines and for the others."""
    total = nbytes(kept)
    if target <= 0 or total <= target:
        return kept, {}
    whole = [it for it in kept if it[2] in KEEP_WHOLE]
    latin = [it for it in kept if it[2] not in KEEP_WHOLE and it[4]]
    other = [it for it in kept if it[2] not in KEEP_WHOLE and not it[4]]
    b_whole, b_latin, b_other = nbytes(whole), nbytes(latin), nbytes(other)
    if b_whole + b_other <= target:
        rates = {'latin-script lines': (target - b_whole - b_other) / b_latin, 'other lines': 1.0}
    else:
        rates = {'latin-script lines': 0.0, 'other lines': max(0.0, (target - b_whole) / b_other)}
    out = list(whole)
    for items, r in ((latin, rates['latin-script lines']), (other, rates['other lines'])):
        lim = int(r * (1 << 64))
        out.extend(it for it in items if r >= 1.0 or it[0] < lim)
    return out, rates


def script_bytes(lines_iter):
    acc = collections.Counter()
    chunk = []
    n = 0

    def flush():
        text = '\n'.join(chunk)
        total = len(text.encode('utf-8'))
        known = 0
        for name, rx in SCRIPT_RES:
            b = sum(len(m.encode('utf-8')) for m in rx.findall(text))
            acc[name] += b
            known += b
        acc['newlines'] += text.count('\n') + 1
        acc['other'] += total - known - (text.count('\n'))
    for line in lines_iter:
        chunk.append(line)
        n += len(line)
        if n > 4_000_000:
            flush()
            chunk, n = [], 0
    if chunk:
        flush()
    return acc


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit('usage: corpus_mix.py TEXT_DIR OUT_FILE [--target-mb 230] [--report REPORT.tsv]')
    text_dir, out_file = args[0], args[1]
    target_mb = 230.0
    report = None
    i = 2
    while i < len(args):
        if args[i] == '--target-mb':
            target_mb = float(args[i + 1])
            i += 2
        elif args[i] == '--report':
            report = args[i + 1]
            i += 2
        else:
            sys.exit('unexpected argument ' + args[i])
    kept = load(text_dir)
    unique_total = nbytes(kept)
    chosen, rates = thin(kept, int(target_mb * 1e6))
    del kept
    chosen.sort(key=lambda it: (it[0], it[1]))
    tmp = out_file + '.tmp'
    with open(tmp, 'w', encoding='utf-8', newline='\n') as f:
        for _, line, *_ in chosen:
            f.write(line)
            f.write('\n')
    os.replace(tmp, out_file)

    size = os.path.getsize(out_file)
    words = set()
    nwords = 0
    for _, line, *_ in chosen:
        w = line.split()
        nwords += len(w)
        words.update(w)
    by_src = collections.Counter()
    by_lang = collections.Counter()
    for _, line, src, lang, _ in chosen:
        b = len(line.encode('utf-8')) + 1
        by_src[src] += b
        by_lang[lang.split('-')[0] if lang not in ('zh-cn', 'zh-tw', 'pt-br', 'en-gb', 'sr-latin') else lang] += b
    scripts = script_bytes(line for _, line, *_ in chosen)

    rows = [('file', out_file), ('bytes', size), ('MB', round(size / 1e6, 1)), ('lines', len(chosen)),
            ('whitespace_words', nwords), ('unique_whitespace_words', len(words)),
            ('unique_text_available_MB', round(unique_total / 1e6, 1)),
            ('sha256', hashlib.sha256(open(out_file, 'rb').read()).hexdigest())]
    for s, r in sorted(rates.items()):
        rows.append((f'keep_rate[{s}]', round(r, 4)))
    for name, b in sorted(scripts.items(), key=lambda kv: -kv[1]):
        rows.append((f'script[{name}]', f'{b}\t{100 * b / size:.1f}%'))
    for s, b in by_src.most_common():
        rows.append((f'source[{s}]', f'{b}\t{100 * b / size:.1f}%'))
    for l, b in by_lang.most_common():
        rows.append((f'lang[{l}]', f'{b}\t{100 * b / size:.2f}%'))
    text = '\n'.join(f'{k}\t{v}' for k, v in rows) + '\n'
    sys.stdout.write(text)
    if report:
        with open(report, 'w', encoding='utf-8') as f:
            f.write(text)


if __name__ == '__main__':
    main()
