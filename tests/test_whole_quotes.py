"""A quotation never ends or starts mid-sentence, across block boundaries too
(a displayed command, a list, a page break): rag.answer.select.whole."""

from __future__ import annotations

import pytest

from tests.conftest import write_corpus

GUIDE = """# Zoo objects

Ordered observations need an index that sorts them.
Objects of class zoo are created by the function

```
zoo(x, order.by)
```

where x is the vector or matrix of observations and order.by is the index by which they are ordered.

For purposes of this guide, a regular series means

- one whose observations are equally spaced, or
- one whose index is a multiple of a fixed step.

Regular series are stored as zooreg objects. Their frequency is kept beside the data.

No patent licence is granted by a contributor:

- for any code that the contributor has removed; or
- for infringements caused by your changes to the code.

Removed code is listed in the changelog.

Install the package from the command line:

```
R CMD INSTALL zoo
```

The package needs no compiler.

12
"""


@pytest.fixture(scope="module")
def guide(tmp_path_factory, embedder):
    from rag.index.build import build_index
    from rag.ingest.corpus import load_corpus
    from rag.pipeline import Rag

    tmp = tmp_path_factory.mktemp("whole")
    index, _ = build_index(load_corpus(write_corpus(tmp / "c", {"zoo-guide.md": GUIDE})), tmp / "i", embedder)
    return Rag(index, embedder)


def _unit(rag, starts: str) -> int:
    layer, docs = rag.index.sentences, rag.index.documents
    return next(
        i for i, s in enumerate(layer.sentences) if docs[s.doc_id].text[s.start : s.end].strip().startswith(starts)
    )


def _quoted(rag, lo: int, hi: int) -> str:
    from rag.answer.select import whole

    layer, docs = rag.index.sentences, rag.index.documents
    a, b = whole(layer, docs, lo, hi)
    s, e = layer.sentences[a], layer.sentences[b]
    return docs[s.doc_id].text[s.start : e.end]


def test_a_sentence_runs_on_through_a_displayed_command(guide):
    opening = _unit(guide, "Objects of class zoo")
    quoted = _quoted(guide, opening, opening)
    assert quoted.startswith("Objects of class zoo are created by the function")
    assert "zoo(x, order.by)" in quoted and quoted.endswith("by which they are ordered.")
    # From its end too: "where x is …" opens as no sentence does.
    end = _unit(guide, "where x is")
    assert _quoted(guide, end, end) == quoted


def test_a_sentence_runs_on_into_its_list_and_a_colon_into_its_command(guide):
    means = _unit(guide, "For purposes of this guide")
    quoted = _quoted(guide, means, means)
    assert "equally spaced, or" in quoted and quoted.rstrip().endswith("a multiple of a fixed step.")
    colon = _unit(guide, "Install the package")
    assert _quoted(guide, colon, colon).endswith("R CMD INSTALL zoo")


def test_a_whole_sentence_stays_as_it_is(guide):
    for starts in ("Regular series are stored", "Their frequency", "The package needs no compiler"):
        i = _unit(guide, starts)
        assert _quoted(guide, i, i).strip().startswith(starts) and _quoted(guide, i, i).strip().endswith(".")
        assert "\n" not in _quoted(guide, i, i).strip()


def test_an_answer_quotes_the_whole_sentence(guide):
    answer = guide.ask("How are zoo objects created?")
    assert not answer.abstained
    first = answer.quotes[0].text
    assert "created by the function" in first and "zoo(x, order.by)" in first and "where x is" in first


def test_a_unit_without_a_word_is_never_quoted(guide):
    """A page number or a figure's tick left in the text ("12") is no answer, alone or joined to one."""
    from rag.answer.select import quotable

    layer, docs = guide.index.sentences, guide.index.documents
    number = _unit(guide, "12")
    assert number not in quotable(layer, docs, range(layer.n))
    assert _unit(guide, "The package needs no compiler") in quotable(layer, docs, range(layer.n))


def test_an_item_that_ends_on_or_runs_on_to_the_item_that_finishes_it(guide):
    """'(a) for any code …; or' is half a sentence: quoted, it brings the items up to
    the one that ends it, and no further."""
    first = _unit(guide, "for any code that the contributor")
    quoted = _quoted(guide, first, first)
    assert quoted.startswith("for any code") and quoted.rstrip().endswith("caused by your changes to the code.")
    assert "changelog" not in quoted
    last = _unit(guide, "for infringements")
    assert _quoted(guide, last, last).strip() == "for infringements caused by your changes to the code."
