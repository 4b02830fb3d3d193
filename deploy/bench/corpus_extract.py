#!/usr/bin/env python3
"""Extract plain natural-language text from unpacked Debian packages.

Usage: corpus_extract.py UNPACKED_DIR TEXT_DIR

UNPACKED_DIR holds one folder per package (as made by `dpkg-deb -x PKG.deb UNPACKED_DIR/PKG`).
Writes TEXT_DIR/<source>/<lang>.txt, one paragraph / sentence / message per line (UTF-8), not yet deduplicated.
Sources handled:
  html   HTML help and manuals (libreoffice-help-*, gimp-help-*, debian-handbook, kicad-doc-*, debian-reference-*,
         developers-reference-*, maint-guide-*) and Mallard .page files (gnome-user-docs): block elements become lines,
         <pre>/<code>/<screen> blocks are dropped.
  mo     gettext catalogues (*.mo in libreoffice-l10n-*, wesnoth-*, freeciv-data): the translated strings (msgstr)
         only, markup and accelerator marks removed.
  man    translated manual pages (manpages-*): roff requests and escapes stripped, filled text joined to paragraphs.
  fortune  fortune cookie files (fortunes-*): one cookie per line.
  quran  the npm package quran-json (unpacked as UNPACKED_DIR/npm-quran-json): the Arabic text (dist/quran.json) and
         its translations (dist/quran_<lang>.json, translation field); one verse per line.
Bibles (sword-text-*) are exported by the shell script with mod2imp and are not handled here.
Everything is walked in sorted order, so the output is deterministic for the same packages.
"""
import gzip
import html
import html.parser
import os
import re
import struct
import sys

WS = re.compile(r'\s+')


def clean_line(s):
    return WS.sub(' ', s).strip()


class Sink:
    """Appends lines to TEXT_DIR/source/lang.txt, keeping files open."""

    def __init__(self, root):
        self.root = root
        self.files = {}
        self.counts = {}

    def write(self, source, lang, lines):
        key = (source, lang)
        f = self.files.get(key)
        if f is None:
            d = os.path.join(self.root, source)
            os.makedirs(d, exist_ok=True)
            f = open(os.path.join(d, lang + '.txt'), 'w', encoding='utf-8')
            self.files[key] = f
            self.counts[key] = 0
        for line in lines:
            line = clean_line(line)
            if line:
                f.write(line)
                f.write('\n')
                self.counts[key] += 1

    def close(self):
        for f in self.files.values():
            f.close()


def read_maybe_gz(path):
    if path.endswith('.gz'):
        with gzip.open(path, 'rb') as f:
            return f.read()
    with open(path, 'rb') as f:
        return f.read()


def walk_sorted(top, with_links=False):
    """Regular files under top, directories and names in sorted order; symlinked files only with with_links."""
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(root, name)
            if os.path.isfile(p) and (with_links or not os.path.islink(p)):
                yield p


# ---------------------------------------------------------------- HTML / Mallard

BLOCK = {'p', 'div', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'td', 'th', 'tr', 'br', 'title', 'dt', 'dd', 'table',
         'ul', 'ol', 'section', 'article', 'blockquote', 'caption', 'figcaption', 'hr', 'header', 'footer', 'nav',
         # Mallard (GNOME help)
         'desc', 'item', 'note', 'page', 'terms', 'tree', 'list', 'steps', 'synopsis', 'subtitle', 'example', 'quote',
         'figure', 'links', 'choose', 'when', 'otherwise'}
SKIP = {'script', 'style', 'head', 'pre', 'screen', 'code', 'info', 'programlisting', 'svg', 'math', 'noscript'}


class HtmlText(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.buf = []
        self.out = []
        self.skip = 0

    def flush(self):
        t = clean_line(''.join(self.buf))
        if t:
            self.out.append(t)
        self.buf = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIP:
            self.flush()
            self.skip += 1
        elif tag in BLOCK:
            self.flush()

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK:
            self.flush()

    def handle_endtag(self, tag):
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
            self.buf = []
        elif tag in BLOCK:
            self.flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)


def html_lines(data):
    p = HtmlText()
    try:
        p.feed(data)
        p.close()
    except Exception:  # malformed markup: keep what was parsed
        pass
    p.flush()
    return p.out


HTML_PREFIXES = ['libreoffice-help-', 'gimp-help-', 'kicad-doc-', 'debian-reference-', 'developers-reference-',
                 'maint-guide-']
HTML_WHOLE = {'debian-handbook': 'usr/share/doc/debian-handbook/html', 'gnome-user-docs': 'usr/share/help',
              'developers-reference': None, 'maint-guide': None}


def extract_html(pkgdir, pkg, sink):
    per_lang_dir = HTML_WHOLE.get(pkg, 'x')
    if pkg in HTML_WHOLE and per_lang_dir:
        base = os.path.join(pkgdir, per_lang_dir)
        if not os.path.isdir(base):
            return
        for lang in sorted(os.listdir(base)):
            d = os.path.join(base, lang)
            if not os.path.isdir(d):
                continue
            for p in walk_sorted(d):
                if p.endswith(('.html', '.htm', '.page', '.html.gz', '.page.gz')):
                    sink.write('html-' + pkg, norm_lang(lang), html_lines(read_maybe_gz(p).decode('utf-8', 'replace')))
        return
    lang = 'en'
    family = pkg
    for pre in HTML_PREFIXES:
        if pkg.startswith(pre):
            lang = pkg[len(pre):]
            family = pre.rstrip('-')
    for p in walk_sorted(os.path.join(pkgdir, 'usr')):
        if p.endswith(('.html', '.htm', '.html.gz', '.htm.gz')):
            sink.write('html-' + family, norm_lang(lang), html_lines(read_maybe_gz(p).decode('utf-8', 'replace')))


def norm_lang(lang):
    lang = lang.replace('_', '-').replace('@', '-')
    if lang in ('C', 'c', 'en-us', 'en-US', 'en-GB'):
        return 'en' if lang != 'en-GB' else 'en-gb'
    return lang.lower()


# ---------------------------------------------------------------- gettext .mo

TAG = re.compile(r'</?[A-Za-z][^<>]{0,200}>')
MO_ACCEL = re.compile(r'\((?:_|~|&)[A-Za-z0-9]\)|~|(?<![A-Za-z0-9_])_(?=\w)')


def mo_messages(data):
    if len(data) < 28:
        return
    magic = struct.unpack('<I', data[:4])[0]
    if magic == 0x950412de:
        e = '<'
    elif magic == 0xde120495:
        e = '>'
    else:
        return
    _, n, o_off, t_off = struct.unpack(e + '4I', data[4:20])
    for i in range(n):
        ilen, ioff = struct.unpack(e + '2I', data[o_off + 8 * i:o_off + 8 * i + 8])
        slen, soff = struct.unpack(e + '2I', data[t_off + 8 * i:t_off + 8 * i + 8])
        if ilen == 0:
            continue  # header entry
        msgid = data[ioff:ioff + ilen]
        msgstr = data[soff:soff + slen]
        yield msgid, msgstr


def clean_mo_text(s):
    s = s.replace('\\n', '\n')
    s = TAG.sub('', s)
    s = html.unescape(s)
    s = MO_ACCEL.sub('', s)
    return s


def extract_mo(path, source, lang, sink):
    data = read_maybe_gz(path)
    lines = []
    for msgid, msgstr in mo_messages(data):
        try:
            text = msgstr.decode('utf-8')
        except UnicodeDecodeError:
            continue
        for form in text.split('\0'):
            for part in clean_mo_text(form).split('\n'):
                lines.append(part)
    sink.write(source, lang, lines)


def mo_lang(path):
    parts = path.split(os.sep)
    if 'LC_MESSAGES' in parts:
        return norm_lang(parts[parts.index('LC_MESSAGES') - 1])
    return None


# ---------------------------------------------------------------- roff manual pages

ROFF_CHARS = {'em': '\u2014', 'en': '\u2013', 'aq': "'", 'dq': '"', 'lq': '\u201c', 'rq': '\u201d', 'oq': '\u2018',
              'cq': '\u2019', 'co': '\u00a9', 'rg': '\u00ae', 'bu': '\u2022', 'hy': '-', 'mi': '-', 'pl': '+',
              'mu': '\u00d7', 'de': '\u00b0', 'ga': '`', 'aa': '\u00b4', 'ti': '~', 'ha': '^', 'rs': '\\',
              'lB': '[', 'rB': ']', 'lC': '{', 'rC': '}', 'la': '\u27e8', 'ra': '\u27e9', 'ua': '\u2191',
              'da': '\u2193', 'ra2': '\u2192', 'fo': '\u00ab', 'fc': '\u00bb', 'Fo': '\u00ab', 'Fc': '\u00bb',
              'ss': '\u00df', 'tm': '\u2122', 'sc': '\u00a7', 'ps': '\u00b6', 'ct': '\u00a2', 'Eu': '\u20ac',
              'eu': '\u20ac', 'ho': '\u02db', 'at': '@', 'sh': '#', 'dg': '\u2020', 'lh': '\u261c', 'rh': '\u261e'}
ROFF_ESC = re.compile(r'\\(?:f(?:\[[^\]]*\]|\([A-Za-z0-9]{2}|.)'      # font changes
                      r'|\((..)'                                      # \(xx special char
                      r'|\[([^\]]*)\]'                                # \[name] special char
                      r'|\*(?:\[[^\]]*\]|\(..|.)'                     # string interpolation
                      r'|s[-+]?(?:\d|\(\d\d|\[\d+\])'                  # size change
                      r'|[kn](?:\[[^\]]*\]|\(..|.)'                   # registers
                      r'|[hvwoDlLxXbHSNRYzA]\'[^\']*\''                # motion/drawing with quoted argument
                      r'|"[^\n]*'                                     # comment to end of line
                      r'|(.))', re.S)


def _roff_sub(m):
    if m.group(1) is not None:
        return ROFF_CHARS.get(m.group(1), '')
    if m.group(2) is not None:
        name = m.group(2)
        if name.startswith('u') and re.fullmatch(r'u[0-9A-Fa-f]{4,6}', name):
            return chr(int(name[1:], 16))
        return ROFF_CHARS.get(name, '')
    c = m.group(3)
    if c is None:
        return ''
    if c == '-':
        return '-'
    if c == 'e' or c == '\\':
        return '\\'
    if c in ' ~0':
        return ' '
    if c == '.':
        return '.'
    if c == "'":
        return '\u00b4'
    return ''


def roff_text(s):
    return ROFF_ESC.sub(_roff_sub, s)


TEXT_MACROS = {'SH', 'SS', 'B', 'I', 'BI', 'BR', 'IB', 'IR', 'RB', 'RI', 'SM', 'SB', 'IP', 'TP', 'TQ', 'Nm', 'Nd',
               'Sh', 'Ss', 'Dt', 'Pa', 'Ar', 'Fl', 'Em', 'Sy', 'Li', 'Dq', 'Qq', 'Sq', 'Pq', 'Xr', 'It', 'Ql',
               'UR', 'MT', 'OP'}
INLINE_MACROS = {'B', 'I', 'BI', 'BR', 'IB', 'IR', 'RB', 'RI', 'SM', 'SB', 'Pa', 'Ar', 'Fl', 'Em', 'Sy', 'Li', 'Dq',
                 'Qq', 'Sq', 'Pq', 'Xr', 'Ql', 'OP'}
MACRO_ARGS = re.compile(r'"((?:[^"]|"")*)"|(\S+)')


def man_lines(src):
    out = []
    para = []
    nofill = False

    def end_para():
        if para:
            out.append(' '.join(para))
            para.clear()

    for raw in src.split('\n'):
        if raw.startswith(('.\\"', "'\\\"", '.\\#')) or raw.strip() in ('.', "'"):
            continue
        if raw.startswith(('.', "'")):
            m = re.match(r"[.']\s*([A-Za-z0-9]+)\s*(.*)", raw)
            if not m:
                continue
            name, rest = m.group(1), m.group(2)
            if name in ('nf', 'EX'):
                end_para()
                nofill = True
                continue
            if name in ('fi', 'EE'):
                nofill = False
                continue
            if name in TEXT_MACROS and rest:
                words = [a if a is not None and a != '' else b for a, b in MACRO_ARGS.findall(rest)]
                words = [w.replace('""', '"') for w in words if w]
                if name in ('B', 'I', 'SM', 'SB') or name in INLINE_MACROS:
                    text = ''.join(words) if name in ('BI', 'BR', 'IB', 'IR', 'RB', 'RI') else ' '.join(words)
                    para.append(roff_text(text))
                else:
                    end_para()
                    if name in ('IP',):
                        words = words[:1]
                    out.append(roff_text(' '.join(words)))
                continue
            end_para()
            continue
        line = roff_text(raw)
        if nofill:
            out.append(line)
        elif not line.strip():
            end_para()
        else:
            para.append(line)
    end_para()
    return out


def extract_man(pkgdir, sink, stats):
    base = os.path.join(pkgdir, 'usr', 'share', 'man')
    if not os.path.isdir(base):
        return
    for lang in sorted(os.listdir(base)):
        d = os.path.join(base, lang)
        if not os.path.isdir(d) or lang.startswith('man'):
            continue
        for p in walk_sorted(d):
            try:
                src = read_maybe_gz(p).decode('utf-8')
            except (UnicodeDecodeError, OSError, EOFError):
                stats['man-undecodable'] = stats.get('man-undecodable', 0) + 1
                continue
            if src.startswith('.so ') and src.count('\n') <= 2:
                continue  # link to another page
            sink.write('man', norm_lang(lang), man_lines(src))


# ---------------------------------------------------------------- fortunes

FORTUNE_ENC = {'fortunes-eo-iso3': 'iso8859_3'}


def extract_fortunes(pkgdir, pkg, sink, stats):
    base = os.path.join(pkgdir, 'usr', 'share', 'games', 'fortunes')
    if not os.path.isdir(base):
        return
    for p in walk_sorted(base):
        rel = os.path.relpath(p, base)
        if p.endswith(('.dat', '.u8')) or '/off/' in '/' + rel or rel.startswith('off'):
            continue
        enc = FORTUNE_ENC.get(pkg, 'utf-8')
        try:
            text = read_maybe_gz(p).decode(enc)
        except UnicodeDecodeError:
            stats['fortune-undecodable'] = stats.get('fortune-undecodable', 0) + 1
            continue
        parts = rel.split(os.sep)
        if len(parts) > 1:
            lang = parts[0]
        else:
            lang = {'fortunes': 'en', 'fortunes-bofh-excuses': 'en', 'fortunes-mario': 'en', 'fortunes-debian-hints': 'en',
                    'fortunes-br': 'pt-br', 'fortunes-zh': 'zh', 'fortunes-eo-iso3': 'eo'}.get(pkg, pkg.split('-')[-1])
        cookies = []
        cur = []
        for line in text.split('\n'):
            if line.strip() == '%':
                cookies.append(' '.join(cur))
                cur = []
            else:
                cur.append(line)
        cookies.append(' '.join(cur))
        if lang == 'eo-iso3':
            lang = 'eo'
        sink.write('fortune', norm_lang(lang), cookies)


# ---------------------------------------------------------------- quran-json (npm)

def extract_quran(pkgdir, sink):
    import json
    dist = os.path.join(pkgdir, 'package', 'dist')
    for name in sorted(os.listdir(dist)):
        m = re.fullmatch(r'quran(?:_([a-z]+))?\.json', name)
        if not m or m.group(1) == 'transliteration':
            continue
        lang = m.group(1) or 'ar'
        with open(os.path.join(dist, name), encoding='utf-8') as f:
            chapters = json.load(f)
        field = 'text' if lang == 'ar' else 'translation'
        sink.write('quran', lang, [v[field] for ch in chapters for v in ch['verses']])


# ---------------------------------------------------------------- main

def main():
    if len(sys.argv) != 3:
        sys.exit('usage: corpus_extract.py UNPACKED_DIR TEXT_DIR')
    src, dst = sys.argv[1], sys.argv[2]
    sink = Sink(dst)
    stats = {}
    for pkg in sorted(os.listdir(src)):
        pkgdir = os.path.join(src, pkg)
        if not os.path.isdir(pkgdir):
            continue
        if pkg.startswith('manpages-'):
            extract_man(pkgdir, sink, stats)
        elif pkg.startswith(('fortunes', 'fortune-')):
            extract_fortunes(pkgdir, pkg, sink, stats)
        elif pkg.startswith(('libreoffice-l10n-', 'wesnoth-', 'freeciv-')):
            source = 'mo-' + pkg.split('-')[0]
            for p in walk_sorted(pkgdir):
                if p.endswith('.mo'):
                    lang = mo_lang(p)
                    if lang:
                        extract_mo(p, source, lang, sink)
        elif pkg == 'npm-quran-json':
            extract_quran(pkgdir, sink)
        elif pkg in HTML_WHOLE or pkg.startswith(tuple(HTML_PREFIXES)):
            extract_html(pkgdir, pkg, sink)
        else:
            stats.setdefault('unused-packages', []).append(pkg)
        print('extracted', pkg, file=sys.stderr, flush=True)
    sink.close()
    for (source, lang), n in sorted(sink.counts.items()):
        print(f'{source}\t{lang}\t{n}')
    for k, v in stats.items():
        print(f'# {k}: {v}', file=sys.stderr)


if __name__ == '__main__':
    main()
