"""Nonsense in, one clear line out: every bad input the issue lists, through the
real CLI (exit 1, one `rag: error:` line, no traceback) and the Python API,
and nothing that was there before is overwritten."""

from __future__ import annotations

import json
import shutil

import pytest

from rag.answer.question import MAX_QUESTION_CHARS
from rag.errors import CorpusError, EvalDataError, IndexCorrupt, IndexMismatch, IndexMissing, QuestionError
from rag.index.load import load_index
from rag.index.manifest import FORMAT_VERSION, seal_manifest, sha256_bytes
from tests.conftest import CORPUS, write_corpus
from tests.test_cli import one_line_error, run

# ---------------------------------------------------------------- questions


@pytest.mark.parametrize("question", ["", " ", "\t \n ", "\x01\x02\x1b", "\x00"])
def test_empty_questions_api(essays_rag, question):
    with pytest.raises(QuestionError, match="question is empty"):
        essays_rag.ask(question)


@pytest.mark.parametrize("question", ["", "\t\n  ", "\x1b\x07"])  # argv cannot carry NUL
def test_empty_questions_cli(essays_index, question):
    line = one_line_error(run("ask", question, "--index", str(essays_index.path)))
    assert "question is empty" in line


@pytest.mark.parametrize("question", ["Kofman " * 14_286, "x" * 100_000])
def test_huge_question_is_shortened_and_said_so_api(essays_rag, question):
    answer = essays_rag.ask(question)
    assert len(answer.query) <= MAX_QUESTION_CHARS
    assert any("shortened" in note for note in answer.notes)


def test_huge_question_cli_json_is_told(essays_index):
    result = run("ask", "--json", "Who is Michael Kofman? " * 4348, "--index", str(essays_index.path))
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)  # stdout is still exactly one JSON object
    assert "rag: note: the question was shortened" in result.stderr  # --json callers are told too


def test_control_characters_and_nul_api(essays_rag):
    answer = essays_rag.ask("\x00Who is\x1b[31m Michael\x07 Kofman?\x00\x9b")
    assert answer.query == "Who is [31m Michael Kofman?"
    assert "control characters were removed from the question" in answer.notes
    assert "Kofman" in answer.passages[0].chunk.text


def test_control_characters_cli(essays_index):
    result = run("ask", "\x1b]0;owned\x07Who is Michael Kofman?", "--index", str(essays_index.path))
    assert result.returncode == 0, result.stderr
    assert "control characters were removed" in result.stderr and "Kofman" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr


# ---------------------------------------------------------------- corpus


@pytest.mark.model
def test_bad_corpus_files_are_skipped_with_a_warning_each(tmp_path):
    corpus = write_corpus(
        tmp_path / "c",
        {
            "good.txt": "Garden Notes Today\n\nTomatoes need full sun and steady water.",
            "latin1.txt": "Caf\xe9 society".encode("latin-1"),
            "binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "utf16.txt": "Hello there".encode("utf-16"),  # with its byte-order mark: read (issue 24)
            "utf16le.txt": "Hello there".encode("utf-16-le"),  # without: refused, the encoding named
            "empty.txt": b"",
            "blank.md": b"  \n\t\n",
        },
    )
    result = run("index", "--corpus", str(corpus), "--index", str(tmp_path / "i"), "-q")
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.strip().splitlines()
    assert sorted(warnings) == sorted(
        [
            "rag: warning: skipped binary.md: binary file (contains NUL bytes)",
            "rag: warning: skipped blank.md: empty file",
            "rag: warning: skipped empty.txt: empty file",
            "rag: warning: skipped latin1.txt: not UTF-8 text (bad byte at offset 3)",
            "rag: warning: skipped utf16le.txt: binary file (contains NUL bytes); it looks like UTF-16LE text "
            "without a byte-order mark: save it as UTF-8, or with its mark",
        ]
    )
    index = load_index(tmp_path / "i")
    assert list(index.documents) == ["good", "utf16"] and index.documents["utf16"].text == "Hello there"
    assert [s["file"] for s in index.manifest["corpus"]["skipped"]] == [
        "binary.md",
        "blank.md",
        "empty.txt",
        "latin1.txt",
        "utf16le.txt",
    ]


def test_only_bad_files_or_empty_folder_refused_and_old_index_kept(tmp_path, essays_index):
    index_dir = tmp_path / "index"
    shutil.copytree(essays_index.path, index_dir)
    before = {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()}
    (tmp_path / "empty").mkdir()
    line = one_line_error(run("index", "--corpus", str(tmp_path / "empty"), "--index", str(index_dir)))
    assert "no usable document in" in line
    bad = write_corpus(tmp_path / "bad", {"a.txt": b"", "b.txt": b"\x89PNG\x00\x01"})
    line = one_line_error(run("index", "--corpus", str(bad), "--index", str(index_dir)))
    assert "a.txt: empty file" in line and "b.txt: binary file" in line
    line = one_line_error(run("index", "--corpus", str(tmp_path / "nowhere"), "--index", str(index_dir)))
    assert "corpus folder not found" in line
    assert {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()} == before  # nothing overwritten
    with pytest.raises(CorpusError):
        from rag.ingest.corpus import load_corpus

        load_corpus(tmp_path / "empty")


# ---------------------------------------------------------------- index


def _copy(essays_index, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(essays_index.path, copy)
    return copy


def _edit_manifest(index_dir, change, refingerprint=True):
    path = index_dir / "manifest.json"
    m = json.loads(path.read_text())
    change(m)
    if refingerprint:
        m.update(seal_manifest(m))  # re-sealed with this machine's key: the checks behind the seal
    path.write_text(json.dumps(m))


def _replace_file(index_dir, name, data: bytes):
    """Swap a file and keep the manifest's checksums matching, as an attacker or a bug would."""
    (index_dir / name).write_bytes(data)
    _edit_manifest(index_dir, lambda m: m["files"].update({name: {"bytes": len(data), "sha256": sha256_bytes(data)}}))


@pytest.mark.unit
def test_missing_index(tmp_path):
    line = one_line_error(run("ask", "Who?", "--index", str(tmp_path / "none")))
    none = tmp_path / "none"
    assert line == f"rag: error: no index at {none}; run `rag index --index {none}` to build it"
    with pytest.raises(IndexMissing):
        load_index(tmp_path / "none")


@pytest.mark.parametrize(
    "damage, expected",
    [
        (
            lambda d: (d / "vectors.faiss").write_bytes((d / "vectors.faiss").read_bytes()[:1000]),
            "vectors.faiss is truncated or altered",
        ),
        (lambda d: _replace_file(d, "vectors.faiss", b"\x00" * 64), "vectors.faiss cannot be read by FAISS"),
        (
            lambda d: (d / "chunks.jsonl").write_bytes((d / "chunks.jsonl").read_bytes()[:-10]),
            "chunks.jsonl is truncated or altered",
        ),
        (lambda d: _replace_file(d, "chunks.jsonl", b'{"chunk_id": 0}\n'), "malformed manifest or record"),
        (lambda d: _replace_file(d, "chunks.jsonl", b"\xff\xfe garbage\n"), "chunks.jsonl is not valid JSON lines"),
        (lambda d: (d / "manifest.json").write_bytes(b'{"format_version": 1, "fing'), "manifest.json is unreadable"),
        (lambda d: (d / "manifest.json").write_bytes(b"[1, 2]"), "is not a manifest"),
        (lambda d: _edit_manifest(d, lambda m: m.update(files=[])), "malformed manifest"),
        (lambda d: _edit_manifest(d, lambda m: m.update(model="minilm")), "malformed manifest"),
        (
            lambda d: _edit_manifest(d, lambda m: m.update(format_version=0)),
            f"has index format 0, this rag reads format {FORMAT_VERSION}",
        ),
        (
            lambda d: _edit_manifest(d, lambda m: m["store"]["bm25"].update(k1=1.2)),
            "built with BM25 k1=1.2, this rag uses 1.5",
        ),
        (lambda d: (d / "bm25" / "vocab.index.json").unlink(), "vocab.index.json is missing or unreadable"),
    ],
    ids=[
        "faiss-truncated",
        "faiss-garbage",
        "chunks-truncated",
        "chunks-missing-fields",
        "chunks-not-utf8",
        "manifest-truncated",
        "manifest-not-object",
        "manifest-files-wrong-type",
        "manifest-model-wrong-type",
        "manifest-older-format",
        "other-bm25-settings",
        "bm25-file-missing",
    ],
)
def test_damaged_index_is_one_line_and_names_the_problem(tmp_path, essays_index, damage, expected):
    copy = _copy(essays_index, tmp_path)
    damage(copy)
    with pytest.raises((IndexCorrupt, IndexMismatch), match="rag index"):
        load_index(copy)
    line = one_line_error(run("ask", "Who is Michael Kofman?", "--index", str(copy)))
    assert expected in line and "rag index" in line


def test_other_bm25_settings_are_rebuilt_not_called_up_to_date(tmp_path, essays_index):
    copy = _copy(essays_index, tmp_path)
    _edit_manifest(copy, lambda m: m["store"]["bm25"].update(k1=1.2))
    result = run("index", "--corpus", str(CORPUS), "--index", str(copy))
    assert result.returncode == 0, result.stderr
    assert "up to date" not in result.stdout and "Indexed 2 documents" in result.stdout
    assert load_index(copy).manifest["store"]["bm25"]["k1"] == 1.5


def test_index_built_with_another_model(tmp_path, essays_index, embedder):
    other = tmp_path / "other-model"  # same files, another folder: another configured model
    shutil.copytree(
        embedder.model_path, other, symlinks=False, copy_function=lambda src, dst: __import__("os").symlink(src, dst)
    )
    line = one_line_error(run("ask", "Who?", "--index", str(essays_index.path), "--model", str(other)))
    assert f"was built with model {essays_index.manifest['model']['name']}" in line and str(other) in line
    line = one_line_error(run("ask", "Who?", "--index", str(essays_index.path), "--model", str(tmp_path)))
    assert "not a sentence-transformers model folder" in line


# ---------------------------------------------------------------- eval files


def _qa_file(tmp_path, lines):
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "ok", "question": "Who is Kofman?", "answers": ["Putin Needs an Off-Ramp"]})


@pytest.mark.parametrize(
    "bad, expected",
    [
        ('{"id": "x", "question": "q", "answers": [', "line 3: not valid JSON"),
        ('["a list"]', "line 3: expected a JSON object"),
        ('{"id": "x", "question": "q"}', "line 3: missing answers"),
        ('{"id": "x", "question": "", "answers": []}', "line 3: question must be a non-empty string"),
        ('{"id": "x", "question": "q", "answers": [3]}', "line 3: answers must be a list of non-empty strings"),
        ('{"id": "ok", "question": "q", "answers": []}', "line 3: duplicate id 'ok'"),
        (
            '{"id": "x", "question": "q", "answers": ["Putin Needs a Golden Bridge"]}',
            "line 3 (x): answer 'Putin Needs a Golden Bridge' is not found in the documents "
            "(not even with spacing, quote marks and markup set aside)",
        ),
    ],
)
def test_malformed_eval_line_names_its_line(tmp_path, essays_index, bad, expected):
    qa = _qa_file(tmp_path, [GOOD, "", bad])
    report = tmp_path / "report"
    report.mkdir()
    (report / "report.md").write_text("earlier report")
    line = one_line_error(run("eval", "--qa", str(qa), "--index", str(essays_index.path), "--report", str(report)))
    assert f"{qa}, {expected}" in line
    assert (report / "report.md").read_text() == "earlier report"  # nothing overwritten
    assert sorted(p.name for p in report.iterdir()) == ["report.md"]


def test_eval_file_not_utf8_or_missing(tmp_path, essays_index):
    qa = tmp_path / "qa.jsonl"
    qa.write_bytes(b'{"id": "\xff"}\n')
    line = one_line_error(run("eval", "--qa", str(qa), "--index", str(essays_index.path)))
    assert "is not UTF-8 text (bad byte at offset 8)" in line
    line = one_line_error(run("eval", "--qa", str(tmp_path / "none.jsonl"), "--index", str(essays_index.path)))
    assert "cannot read eval file" in line


# ---------------------------------------------------------------- BEIR


def _beir(folder, skip=()):
    files = {
        "corpus.jsonl": '{"_id": "d1", "title": "Tomatoes", "text": "Tomatoes need sun."}\n',
        "queries.jsonl": '{"_id": "q1", "text": "What do tomatoes need?"}\n',
        "qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\n",
    }
    for name, text in files.items():
        if name not in skip:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.unit
@pytest.mark.parametrize(
    "missing, expected",
    [
        ("corpus.jsonl", "BEIR folder is missing corpus.jsonl"),
        ("queries.jsonl", "BEIR folder is missing queries.jsonl"),
        ("qrels/test.tsv", "BEIR folder has no qrels for this split"),
    ],
)
def test_beir_folder_with_a_missing_file(tmp_path, missing, expected):
    folder = _beir(tmp_path / "scifact", skip=(missing,))
    line = one_line_error(run("eval", "--beir", str(folder)))
    assert expected in line


@pytest.mark.unit
def test_beir_bad_files_name_their_line(tmp_path):
    from rag.evaluation.beir import load_beir

    folder = _beir(tmp_path / "set")
    with open(folder / "queries.jsonl", "ab") as f:
        f.write(b'{"_id": "q2", "text": "caf\xe9"}\n')
    with pytest.raises(EvalDataError, match=r"queries.jsonl, line 2: not UTF-8 text"):
        load_beir(folder)
    folder = _beir(tmp_path / "set2")
    with open(folder / "qrels" / "test.tsv", "a") as f:
        f.write("q1\td1\n")
    with pytest.raises(EvalDataError, match=r"test.tsv, line 3: expected query-id, corpus-id, score"):
        load_beir(folder)
    line = one_line_error(run("eval", "--beir", str(tmp_path / "absent")))
    assert "BEIR folder not found" in line


@pytest.mark.model
def test_index_path_that_is_not_an_index_is_never_replaced(tmp_path):
    corpus = write_corpus(tmp_path / "c", {"a.txt": "Garden Notes Today\n\nTomatoes need full sun."})
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("years of work")
    notes = tmp_path / "notes.txt"
    notes.write_text("keep")
    for target, expected in (
        (documents, "is not a rag index (no manifest.json); nothing was changed"),
        (notes, "is a file, not an index folder; nothing was changed"),
    ):
        line = one_line_error(run("index", "--corpus", str(corpus), "--index", str(target), "-q"))
        assert expected in line
    assert (documents / "thesis.txt").read_text() == "years of work" and notes.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Documents", "c", "notes.txt"]  # nothing moved aside
    (tmp_path / "empty").mkdir()  # an empty folder is fine to build into
    assert run("index", "--corpus", str(corpus), "--index", str(tmp_path / "empty"), "-q").returncode == 0
    assert load_index(tmp_path / "empty").documents


@pytest.mark.parametrize("k", [0, -1, 101, 2.5, "5", None, True])
def test_bad_k_is_a_user_error(essays_rag, k):
    # The page's API hands k over from the caller, so the API checks it itself.
    with pytest.raises(QuestionError, match="k \\(passages to retrieve\\) must be a whole number"):
        essays_rag.ask("Who is Michael Kofman?", k=k)


def test_good_k_values(essays_rag):
    import numpy as np

    assert len(essays_rag.ask("Who is Michael Kofman?", k=np.int64(2), retriever="dense").passages) == 2
    assert len(essays_rag.search("Kofman", k=300, retriever="dense")) == len(essays_rag.index.chunks)  # eval depth
