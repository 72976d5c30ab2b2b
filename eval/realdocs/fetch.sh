#!/bin/bash
# Rebuild corpus/ from Debian (bookworm) packages. Idempotent: re-running
# re-downloads nothing that is already in build/debs and overwrites corpus/ files.
# Needs: apt-get (after `apt-get update`), dpkg, gzip, pandoc (apt-get install -y pandoc).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BUILD="$HERE/build"; DEBS="$BUILD/debs"; X="$BUILD/extract"; CORPUS="$HERE/corpus"
mkdir -p "$DEBS" "$X" "$CORPUS"

# package=version pairs used for the corpus (Debian 12 "bookworm")
PKGS=(
  "maint-guide=1.2.53"
  "fetchmail=6.4.37-1"
  "asciinema=2.2.0-1"
  "base-files=12.4+deb12u15"
  "debian-policy=4.6.2.0"
  "git-doc=1:2.39.5-0+deb12u3"
)

fetch() {  # $1 = name=version ; download exact version, else newest with a warning
  local spec="$1" name="${1%%=*}"
  if ls "$DEBS/${name}_"*.deb >/dev/null 2>&1; then
    echo "have    $(basename "$(ls "$DEBS/${name}_"*.deb | head -1)")"; return
  fi
  if (cd "$DEBS" && apt-get download -q "$spec" >/dev/null 2>&1); then
    echo "fetched $spec"
  else
    echo "WARNING: $spec not available; downloading current $name instead" >&2
    (cd "$DEBS" && apt-get download -q "$name" >/dev/null)
  fi
}

for p in "${PKGS[@]}"; do fetch "$p"; done

for deb in "$DEBS"/*.deb; do
  n="$(dpkg-deb -f "$deb" Package)"
  rm -rf "${X:?}/$n"; dpkg -x "$deb" "$X/$n"
  echo "unpacked $n $(dpkg-deb -f "$deb" Version)"
done

cp -f "$X/maint-guide/usr/share/doc/maint-guide/maint-guide.en.pdf" "$CORPUS/maint-guide.pdf"
echo "corpus/maint-guide.pdf     <- maint-guide:/usr/share/doc/maint-guide/maint-guide.en.pdf"

cp -f "$X/fetchmail/usr/share/doc/fetchmail/fetchmail-FAQ.html" "$CORPUS/fetchmail-faq.html"
echo "corpus/fetchmail-faq.html  <- fetchmail:/usr/share/doc/fetchmail/fetchmail-FAQ.html"

gzip -dc "$X/asciinema/usr/share/doc/asciinema/README.md.gz" > "$CORPUS/asciinema-readme.md"
echo "corpus/asciinema-readme.md <- asciinema:/usr/share/doc/asciinema/README.md.gz (gunzipped)"

cp -f "$X/base-files/usr/share/common-licenses/Apache-2.0" "$CORPUS/apache-licence.txt"
echo "corpus/apache-licence.txt  <- base-files:/usr/share/common-licenses/Apache-2.0"

gzip -dc "$X/debian-policy/usr/share/doc/debian-policy/copyright-format-1.0.txt.gz" > "$CORPUS/copyright-format.txt"
echo "corpus/copyright-format.txt <- debian-policy:/usr/share/doc/debian-policy/copyright-format-1.0.txt.gz (gunzipped)"

# SOURCE_DATE_EPOCH = the page's own "Last updated 2024-05-31 00:35:55 UTC";
# it fixes the docx timestamps so the output is byte-for-byte reproducible
# with the same pandoc version (2.17.1.1 in bookworm).
( cd "$X/git-doc/usr/share/doc/git-doc" &&
  SOURCE_DATE_EPOCH=1717115755 pandoc -f html -t docx -o "$CORPUS/git-tutorial.docx" gittutorial.html )
echo "corpus/git-tutorial.docx   <- git-doc:/usr/share/doc/git-doc/gittutorial.html via: SOURCE_DATE_EPOCH=1717115755 pandoc -f html -t docx -o git-tutorial.docx gittutorial.html"

echo "--- corpus:"; ls -l "$CORPUS"
( cd "$CORPUS" && sha256sum * )
