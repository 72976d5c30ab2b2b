"""Mine question -> answer pairs from the FAQs that Debian packages ship.

    .venv/bin/python eval/reader/mine_faqs.py            # download, unpack, parse
    .venv/bin/python eval/reader/mine_faqs.py --offline  # parse what eval/cache/reader/x/ holds

Each pair is an FAQ entry: its question heading and the prose under it
(code blocks and tables left out: the reader is trained on what rag quotes,
prose sentences). Packages are fetched with `apt-get download` into
eval/cache/reader/debs/ and unpacked with `dpkg -x` into eval/cache/reader/x/
(git ignores eval/cache/); the pairs go to eval/reader/data/faq_pairs.jsonl
with the package, its version and its licence. The FAQs that rag's
real-document sets use (fetchmail, sqlite, xz-utils: eval/realdocs*/SOURCES.md)
are left out on purpose.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "eval" / "cache" / "reader"
OUT = ROOT / "eval" / "reader" / "data" / "faq_pairs.jsonl"

# source -> (package, licence as the package's copyright file states it, files under the unpacked package)
SOURCES = {
    "python": (
        "python3.11-doc",
        "PSF-2.0 (Python Software Foundation License; /usr/share/doc/python3.11-doc/copyright)",
        [
            f"usr/share/doc/python3.11/html/_sources/faq/{n}.rst.txt"
            for n in ("general", "programming", "design", "library", "extending", "windows", "gui", "installed")
        ],
    ),
    "debian": (
        "debian-faq",
        "verbatim-copying permission notice, © 1996-2003 Software in the Public Interest "
        "(/usr/share/doc/debian-faq/copyright)",
        ["usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"],
    ),
    "git": ("git-doc", "GPL-2 (/usr/share/doc/git-doc/copyright, Files: *)", ["usr/share/doc/git-doc/gitfaq.txt"]),
    "curl": (
        "libcurl4-doc",
        "curl (MIT/X derivate; /usr/share/doc/libcurl4-doc/copyright, Files: *)",
        ["usr/share/doc/libcurl4/FAQ.gz"],
    ),
    "irssi": (
        "irssi",
        "GPL-2+ with OpenSSL exception (/usr/share/doc/irssi/copyright, Files: *)",
        ["usr/share/doc/irssi/faq.txt.gz"],
    ),
    "zsh": (
        "zsh-doc",
        "permission to use, copy, modify and distribute with the notice: This document is copyright (C) "
        "P.W. Stephenson, 1995-2020 (the FAQ's own Copyright Information, FAQ06.html)",
        [f"usr/share/doc/zsh-common/html/FAQ0{n}.html" for n in range(1, 7)],
    ),
    "nano": ("nano", "GPL-3+ (/usr/share/doc/nano/copyright, Files: *)", ["usr/share/doc/nano/faq.html"]),
    "ffmpeg": (
        "ffmpeg-doc",
        "LGPL-2.1+ (/usr/share/doc/ffmpeg-doc/copyright, Files: *)",
        ["usr/share/doc/ffmpeg/manual/faq.html"],
    ),
}
MIN_ANSWER = 40  # characters of prose: shorter answers ("See the next question.") are pointers, not answers


def fetch(package: str) -> tuple[Path, str]:
    """The unpacked package folder and the package's version (apt-get download + dpkg -x)."""
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
    deb = found[-1]
    folder = CACHE / "x" / package
    if not folder.is_dir():
        folder.mkdir(parents=True)
        subprocess.run(["dpkg", "-x", str(deb), str(folder)], check=True)
    version = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return folder, version


def read(path: Path) -> str:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode("utf-8", errors="replace").replace("\u00a0", " ")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _is_question(heading: str) -> bool:
    return "?" in heading and len(heading) < 250


# ------------------------------------------------------------------ rst (Python)
_ROLE = re.compile(r":[a-z:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")


def _rst_inline(text: str) -> str:
    text = _ROLE.sub(
        lambda m: m.group(1).split(".")[-1] if m.group(0).split("`")[1].startswith("~") else m.group(1), text
    )
    text = re.sub(r"`([^`<]*?)\s*<[^>]*>`_+", r"\1", text)
    text = re.sub(r"``([^`]*)``", r"\1", text)
    text = re.sub(r"`([^`]*)`_*", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<!\w)\*([^*\s][^*]*)\*", r"\1", text)
    text = re.sub(r"\s*::$", ":", text)
    return _clean(text)


def parse_rst(text: str, section: str) -> list[tuple[str, str, str]]:
    lines = text.splitlines()
    heads = []  # (line index of the title, title)
    for i in range(len(lines) - 1):
        title, under = lines[i].rstrip(), lines[i + 1].rstrip()
        if (
            title
            and under
            and re.fullmatch(r"([=\-~^\"'+*#])\1+", under)
            and len(under) >= len(title)
            and not title.startswith(" ")
            and not re.fullmatch(r"([=\-~^\"'+*#])\1+", title)
        ):
            heads.append((i, title.strip()))
    out = []
    current = section
    for k, (i, title) in enumerate(heads):
        end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
        if not _is_question(title):
            current = f"{section}/{title}"
            continue
        body = lines[i + 2 : end]
        paragraphs, block, literal = [], [], False
        for line in body + [""]:
            if line.strip():
                block.append(line)
                continue
            if block:
                first = block[0]
                indented = first[:1].isspace()
                if literal and indented:
                    pass  # a code block after "::"
                elif first.lstrip().startswith((".. ", ">>>", "+--", "===")) or (indented and literal):
                    pass
                elif not indented or first.lstrip().startswith(("* ", "- ", "#. ")) or re.match(r"\s+\w", first):
                    if not (indented and literal):
                        paragraphs.append(_rst_inline(" ".join(x.strip() for x in block)))
                literal = block[-1].rstrip().endswith("::") or (literal and indented)
                block = []
        out.append((current, title, "\n\n".join(p.lstrip("*-# ").strip() for p in paragraphs if p)))
    return out


# ------------------------------------------------------------------ plain-text FAQs
def parse_debian(text: str) -> list[tuple[str, str, str]]:
    body = text[text.index("\nChapter 1.") :]
    lines = body.splitlines()
    out, chapter, i = [], "", 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"Chapter \d+\. (.+)", line)
        if m:
            chapter = m.group(1).strip()
            i += 1
            continue
        m = re.match(r"(\d+\.\d+(?:\.\d+)?)\. (\S.*)", line)
        if not m:
            i += 1
            continue
        title = m.group(2).strip()
        i += 1
        while i < len(lines) and lines[i].strip() and not lines[i].startswith(" "):
            title += " " + lines[i].strip()
            i += 1
        start = i
        while i < len(lines) and not re.match(r"(\d+\.\d+(?:\.\d+)?\. |Chapter \d+\.)", lines[i]):
            i += 1
        if _is_question(title):
            out.append((chapter, title, _paragraphs(lines[start:i], code_indent=6)))
    return out


def _paragraphs(lines: list[str], code_indent: int) -> str:
    """Blank-line separated blocks, unwrapped; blocks indented deeper than
    ``code_indent`` (examples, commands) and blocks of mostly symbols dropped."""
    paragraphs, block = [], []
    for line in lines + [""]:
        if line.strip():
            block.append(line.rstrip())
            continue
        if block:
            indent = len(block[0]) - len(block[0].lstrip())
            text = _clean(" ".join(x.strip() for x in block))
            words = re.findall(r"[A-Za-z]{2,}", text)
            bullet = block[0].lstrip().startswith(("* ", "- ", "o "))
            if (indent <= code_indent or bullet) and len(words) >= 3 and len(" ".join(words)) > 0.5 * len(text):
                paragraphs.append(text.lstrip("*-o ").strip() if bullet else text)
            block = []
    return "\n\n".join(paragraphs)


def parse_git(text: str) -> list[tuple[str, str, str]]:
    text = re.sub(r"linkgit:([\w-]+)\[(\d)\]", r"\1(\2)", text)
    lines = text.splitlines()
    out, section = [], ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1]) and len(lines[i + 1]) == len(line):
            section = line.strip()
            i += 2
            continue
        m = re.match(r"(.+\?)::$", line)
        if not m:
            i += 1
            continue
        title = m.group(1).replace("`", "")
        i += 1
        start = i
        while (
            i < len(lines)
            and not lines[i].startswith("[[")
            and not re.match(r".+\?::$", lines[i])
            and not (i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1]))
        ):
            i += 1
        block = [x.replace("\t", "") if x.startswith("\t") else x for x in lines[start:i]]
        block = ["" if x.strip() in ("+", "----") else x for x in block]
        answer = _paragraphs(block, code_indent=0).replace("`", "")
        out.append((section, title, answer))
    return out


def parse_curl(text: str) -> list[tuple[str, str, str]]:
    body = text[text.index("\n  1.1 What is cURL?") :]
    body = body[body.index("\n  1.1 What is cURL?", 10) :] if body.count("1.1 What is cURL?") > 1 else body
    lines = body.splitlines()
    out, section, i = [], "", 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r" ?(\d+)\. ([A-Z].+)", line)
        if m:
            section = m.group(2).strip()
            i += 1
            continue
        m = re.match(r"  (\d+\.\d+) (\S.*)", line)
        if not m:
            i += 1
            continue
        title = m.group(2).strip()
        i += 1
        start = i
        while i < len(lines) and not re.match(r"  \d+\.\d+ \S| \d+\. ", lines[i]):
            i += 1
        if _is_question(title):
            out.append(
                (section or f"chapter {m.group(1).split('.')[0]}", title, _paragraphs(lines[start:i], code_indent=2))
            )
    return out


def parse_irssi(text: str) -> list[tuple[str, str, str]]:
    out = []
    for block in re.split(r"\n(?=Q: )", text)[1:]:
        q, _, a = block.partition("\nA: ")
        if not a:
            continue
        title = _clean(q[3:])
        answer = _paragraphs(("   " + a).splitlines(), code_indent=3)
        out.append(("irssi", title, answer))
    return out


# ------------------------------------------------------------------ HTML FAQs
def parse_html(text: str, level: int, section_level: int, default_section: str) -> list[tuple[str, str, str]]:
    import lxml.html

    doc = lxml.html.fromstring(text)
    out, section, title, paragraphs = [], default_section, None, []
    heading = {f"h{n}" for n in range(1, 7)}

    def close():
        if title is not None and _is_question(title):
            out.append((section, title, "\n\n".join(paragraphs)))

    for el in doc.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in heading:
            text_ = _clean(el.text_content()).replace("#", "").strip()
            text_ = re.sub(r"^[\d.:]+\s*", "", text_)
            text_ = re.sub(r"\s*TOC$", "", text_)
            n = int(tag[1])
            if n <= section_level:
                close()
                section, title, paragraphs = text_, None, []
            elif n == level:
                close()
                title, paragraphs = text_, []
            continue
        if title is None or tag not in ("p", "li", "dd", "dt"):
            continue
        if tag == "li" and el.find(".//p") is not None:
            continue
        if any(a.tag in ("pre", "table") for a in el.iterancestors()):
            continue
        if tag == "p" and any(a.tag == "li" and a.find(".//p") is None for a in el.iterancestors()):
            continue
        t = _clean(html.unescape(el.text_content()))
        if len(re.findall(r"[A-Za-z]{2,}", t)) >= 3:
            paragraphs.append(t)
    close()
    return out


def mine(offline: bool = False) -> list[dict]:
    rows = []
    for source, (package, licence, files) in SOURCES.items():
        if offline:
            folder = CACHE / "x" / package
            deb = sorted((CACHE / "debs").glob(f"{package}_*.deb"))[-1]
            version = subprocess.run(
                ["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True, check=True
            ).stdout.strip()
        else:
            folder, version = fetch(package)
        for name in files:
            text = read(folder / name)
            if source == "python":
                pairs = parse_rst(text, Path(name).name.split(".")[0])
            elif source == "debian":
                pairs = parse_debian(text)
            elif source == "git":
                pairs = parse_git(text)
            elif source == "curl":
                pairs = parse_curl(text)
            elif source == "irssi":
                pairs = parse_irssi(text)
            elif source == "zsh":
                pairs = parse_html(text, level=2, section_level=1, default_section=Path(name).stem)
            elif source == "nano":
                pairs = parse_html(text, level=3, section_level=1, default_section="nano")
            else:
                pairs = parse_html(text, level=3, section_level=2, default_section="ffmpeg")
            for section, question, answer in pairs:
                if len(answer) < MIN_ANSWER:
                    continue
                rows.append(
                    {
                        "id": f"{source}-{len([r for r in rows if r['source'] == source]) + 1:03d}",
                        "source": source,
                        "package": package,
                        "version": version,
                        "licence": licence,
                        "file": "/" + name,
                        "section": section,
                        "question": question,
                        "answer": answer,
                    }
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--offline", action="store_true", help="parse the packages already unpacked")
    args = parser.parse_args()
    rows = mine(args.offline)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    print(f"{len(rows)} pairs -> {OUT.relative_to(ROOT)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
