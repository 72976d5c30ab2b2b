#!/usr/bin/env bash
# Rebuild corpus/ from Debian (bookworm) packages.
# Needs: apt-get (after `apt-get update`), dpkg, gzip, pandoc (for the .docx).
# Idempotent: downloads into a cache dir, extracts, copies, converts; re-running
# overwrites the corpus files with identical content.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CORPUS="$HERE/corpus"
WORK="$HERE/.fetch-cache"
mkdir -p "$CORPUS" "$WORK/debs" "$WORK/root"

# package=version as used to build the set (Debian 12 "bookworm"); if that exact
# version has left the mirror, the current candidate is fetched with a warning.
PKGS=(
  base-files=12.4+deb12u15
  xz-utils=5.4.1-1+deb12u2
  sqlite3-doc=3.40.1-2+deb12u2
  pipx=1.1.0-1
  zstd=1.5.4+dfsg2-5+deb12u1
  r-doc-pdf=4.2.2.20221110-2
  r-cran-zoo=1.8-11-1
)

cd "$WORK/debs"
for pv in "${PKGS[@]}"; do
  p="${pv%%=*}"; v="${pv#*=}"
  if ls "${p}"_*.deb >/dev/null 2>&1; then
    echo "have     $(ls "${p}"_*.deb)"
  else
    echo "download $pv"
    if ! apt-get download "$pv" >/dev/null 2>&1; then
      echo "WARNING: $pv not available; fetching current $p (answers may need re-checking with check.py)" >&2
      apt-get download "$p" >/dev/null 2>&1 || { echo "apt-get download $p failed (run apt-get update?)" >&2; exit 1; }
    fi
  fi
  deb="$(ls "${p}"_*.deb | head -n1)"
  got="$(dpkg-deb -f "$deb" Version)"
  [[ "$got" == "$v" ]] || echo "WARNING: $p is $got, expected $v" >&2
  echo "extract  $deb (Version $got)"
  dpkg -x "$deb" "$WORK/root"
done

R="$WORK/root"
put() {  # put SRC DEST [gunzip]
  local src="$1" dest="$CORPUS/$2"
  if [[ "${3:-}" == gunzip ]]; then gzip -dc "$src" > "$dest.tmp"; else cp "$src" "$dest.tmp"; fi
  mv "$dest.tmp" "$dest"
  echo "wrote   corpus/$2 ($(wc -c < "$dest") bytes) from ${src#$R}"
}

put "$R/usr/share/common-licenses/MPL-2.0"                 mpl-2.0.txt
put "$R/usr/share/doc/xz-utils/faq.txt.gz"                 xz-faq.txt gunzip
put "$R/usr/share/doc/sqlite3/faq.html"                    sqlite-faq.html
put "$R/usr/share/doc/pipx/README.md.gz"                   pipx-readme.md gunzip
put "$R/usr/share/R/doc/manual/R-data.pdf"                 r-data.pdf
put "$R/usr/lib/R/site-library/zoo/doc/zoo.pdf"            zoo.pdf

# Word: convert zstd's CONTRIBUTING.md (GitHub-flavoured Markdown) with pandoc.
gzip -dc "$R/usr/share/doc/zstd/CONTRIBUTING.md.gz" > "$WORK/zstd-CONTRIBUTING.md"
( cd "$WORK" && SOURCE_DATE_EPOCH=0 pandoc -f gfm -t docx -o "$CORPUS/zstd-contributing.docx" zstd-CONTRIBUTING.md )
echo "wrote   corpus/zstd-contributing.docx ($(wc -c < "$CORPUS/zstd-contributing.docx") bytes) via: pandoc -f gfm -t docx -o zstd-contributing.docx CONTRIBUTING.md (pandoc $(pandoc --version | head -n1 | cut -d' ' -f2))"

echo "done: $(ls "$CORPUS" | wc -l) files in $CORPUS"
