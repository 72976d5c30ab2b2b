"""The ``rag`` command. Thin: every verb calls the Python API.

User errors (RagError) print one line and exit 1; usage errors (a bad option
or argument, found before any work starts) print one line and exit 2;
nothing prints a traceback unless RAG_DEBUG=1. A reader that stops early
(``rag ask ... | head -1``) ends it quietly, status 141.
"""

from __future__ import annotations

import os
import select
import sys

import click

from rag.answer.serialize import answer_to_dict
from rag.cli.options import (
    SAFE_PATH,
    check_report_dir,
    check_store,
    check_sweep,
    index_option,
    model_option,
    shorten,
)
from rag.errors import RagError
from rag.pipeline import DEFAULT_K, DEFAULT_RETRIEVER, default_corpus_dir, default_index_dir
from rag.retrieval.registry import RETRIEVERS
from rag.text import safe, safe_json, safe_line, safe_name


def _fail(message: str, code: int = 1) -> None:
    # Messages quote paths and file names, which can hold escape sequences too.
    click.echo(f"rag: error: {safe_line(shorten(message))}", err=True)
    sys.exit(code)


def _reader_gone() -> bool:
    """Whether whatever reads our stdout has stopped (``rag ask ... | head -1``).

    The kernel reports an error on the writing end of a pipe whose reader
    has closed; a BrokenPipeError from anywhere else is a bug like any other.
    """
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), 0)  # no events asked for: errors and hang-ups are always reported
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _stop_quietly() -> None:
    """End as a Unix tool does when its reader stops: no message, status 141
    (128 + SIGPIPE, what a shell reports for one killed by the signal)."""
    # What is still buffered would fail again as Python exits: send it nowhere.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(141)


class _Group(click.Group):
    """Turns our errors, and click's usage errors, into one line and an exit status."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as err:
            where = f" (see `{err.ctx.command_path} --help`)" if err.ctx is not None else ""
            _fail(err.format_message().rstrip(".") + where, err.exit_code)
        except click.ClickException as err:
            _fail(err.format_message(), err.exit_code)
        except click.Abort:
            _fail("aborted", 1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RagError as err:
            _fail(str(err))
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except OSError as err:  # the file system refused: the file it names is the thing to fix
            if isinstance(err, BrokenPipeError) and _reader_gone():
                _stop_quietly()
            if os.environ.get("RAG_DEBUG"):
                raise
            if isinstance(err, BrokenPipeError):  # not our reader: a bug like any other
                _fail(f"internal error: {type(err).__name__}: {err} (set RAG_DEBUG=1 for details)")
            name = f": {err.filename}" if err.filename else ""
            _fail(f"{err.strerror or err}{name}")
        except Exception as err:  # a bug: still one line, the trace on request
            if os.environ.get("RAG_DEBUG"):
                raise
            _fail(f"internal error: {type(err).__name__}: {err} (set RAG_DEBUG=1 for details)")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rag")
def main() -> None:
    """Answer questions about a corpus of essays with verbatim, cited quotations.

    \b
    Typical use:
      rag index                      build the index of the bundled essays
      rag ask "Who is Michael Kofman?"
      rag eval                       score retrieval and quotations
      rag serve                      the chat page on http://127.0.0.1:7860
    """


@main.command()
@click.option(
    "--corpus",
    "corpus_dir",
    type=SAFE_PATH,
    default=None,
    envvar="RAG_CORPUS",
    help="Folder of .txt/.md essays. [default: corpus/ in the project; env RAG_CORPUS]",
)
@index_option
@model_option
@click.option(
    "--chunk-size", type=click.IntRange(50, 20000), default=None, help="Maximum characters per chunk. [default: 1200]"
)
@click.option(
    "--chunk-overlap",
    type=click.IntRange(0, 10000),
    default=None,
    help="Characters shared by neighbouring chunks. [default: 200]",
)
@click.option(
    "--name",
    default=None,
    metavar="NAME",
    help='What answers call the corpus, e.g. "the reports". [default: "the essays" for the bundled '
    'corpus, else "the documents"]',
)
@click.option(
    "--store",
    "store",
    default=None,
    metavar="NAME[:TARGET]",
    callback=check_store,
    help="Where questions search for candidates: local (the index's own files), milvus:PATH.db "
    "(Milvus Lite in a local file) or milvus:http://HOST:PORT (a Milvus server; needs the milvus "
    "extra). [default: the index's current store, else local; env RAG_STORE]",
)
@click.option("--force", is_flag=True, help="Rebuild and re-embed even if the index is up to date.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def index(corpus_dir, index_dir, model_path, chunk_size, chunk_overlap, name, store, force, quiet) -> None:
    """Build (or rebuild) the index of a corpus folder.

    Only new or changed documents are embedded again. The new index replaces
    the old one in a single step, so an interrupted build leaves the previous
    index usable.
    """
    from rag.embed.auto import default_embedder
    from rag.ingest.chunking import ChunkSettings
    from rag.pipeline import build

    defaults = ChunkSettings()
    try:
        settings = ChunkSettings(
            chunk_size or defaults.chunk_size, defaults.chunk_overlap if chunk_overlap is None else chunk_overlap
        )
    except ValueError as err:
        raise click.BadParameter(str(err)) from err
    if corpus_dir is None and not default_corpus_dir().is_dir():
        # Installed from a wheel there are no bundled essays: the default is ./corpus.
        raise RagError(
            f"no corpus folder at {default_corpus_dir()} (outside a checkout of rag the default is "
            f"./corpus); pass --corpus FOLDER or set RAG_CORPUS"
        )
    index_dir = index_dir or default_index_dir()
    from rag.settings import settings as current_settings

    _, report, corpus = build(
        corpus_dir,
        index_dir,
        settings,
        default_embedder(model_path),
        progress=not quiet,
        force=force,
        name=" ".join(name.split())[:60] if name else None,
        store=store or current_settings().store,
    )
    for skipped in corpus.skipped:
        click.echo(f"rag: warning: skipped {safe_name(skipped.path)}: {safe_line(skipped.reason)}", err=True)
    for note in corpus.notes:
        click.echo(f"rag: warning: {safe_line(note)}", err=True)
    if quiet:
        return
    if report.up_to_date:
        click.echo(f"{index_dir} is up to date ({report.documents} documents, {report.chunks} chunks)")
    else:
        click.echo(
            f"Indexed {report.documents} documents as {report.chunks} chunks in {index_dir} "
            f"({report.embedded} embedded, {report.reused} reused)"
        )
    if report.synced:
        sent = {k: sum(v[k] for v in report.synced.values()) for k in ("upserted", "deleted")}
        rows = {k: f"{n} row{'s' if n != 1 else ''}" for k, n in sent.items()}
        click.echo(f"Milvus store: {rows['upserted']} upserted, {rows['deleted']} deleted")


@main.command()
@click.argument("question")
@index_option
@model_option
@click.option(
    "--k", "k", type=click.IntRange(1, 100), default=DEFAULT_K, show_default=True, help="Passages to retrieve."
)
@click.option(
    "--retriever",
    type=click.Choice(RETRIEVERS),
    default=DEFAULT_RETRIEVER,
    show_default=True,
    help="How passages are ranked.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (stable shape) instead of text.")
def ask(question, index_dir, model_path, k, retriever, as_json) -> None:
    """Answer QUESTION with quotations from the indexed documents."""
    from rag.embed.auto import default_embedder
    from rag.ingest.layout import section
    from rag.pipeline import Rag

    # argv carries bytes that are not UTF-8 as lone surrogates: clean_question
    # replaces them and says so; every output below escapes what it prints.
    rag = Rag.open(index_dir, default_embedder(model_path))
    answer = rag.ask(question, k=k, retriever=retriever)
    where = _locations(rag, answer)
    # Notes (question shortened, control characters removed) go to stderr in
    # both modes, so --json callers are told too and stdout stays one object.
    for note in answer.notes:
        click.echo(f"rag: note: {safe_line(note)}", err=True)
    if as_json:
        click.echo(safe_json(answer_to_dict(answer, rag.index.documents), indent=2))
        return
    if answer.caution:
        click.echo(f"Caution: {answer.caution}\n")
    click.echo(safe(answer.text))
    if answer.quotes:
        click.echo("")
        for q, place in zip(answer.quotes, where):
            doc = rag.index.documents[q.doc_id]
            heading = section(doc, q.start)
            title = safe_name(q.title) + (f" › {safe_name(heading)}" if heading else "")
            click.echo(f"[{q.n}] {title} ({safe_name(q.doc_id)}, {place.label()}, characters {q.start}–{q.end})")
    heading = "Related passages:" if answer.abstained else "Passages:"
    click.echo(f"\n{heading}")
    for hit in answer.passages:
        c = hit.chunk
        snippet = " ".join(c.text.split())
        snippet = snippet[:160] + ("…" if len(snippet) > 160 else "")
        click.echo(
            f"  {hit.rank}. {safe_name(c.doc_id)} {c.start}–{c.end} (score {hit.score:.3f}): {safe_name(snippet)}"
        )


def _locations(rag, answer):
    """Where each quotation is, for people: page (PDF: the printed label, and
    the last page when it runs onto another), paragraph and headings."""
    from rag.ingest.layout import location

    return [location(rag.index.documents[q.doc_id], q.start, end=q.end) for q in answer.quotes]


@main.command(name="eval")
@click.option(
    "--qa",
    "qa_path",
    type=SAFE_PATH,
    default=None,
    help="Eval set (JSON lines of id, question, answers). [default: eval/essays_qa.jsonl]",
)
@index_option
@model_option
@click.option(
    "--retriever",
    type=click.Choice([*RETRIEVERS, "all"]),
    default=DEFAULT_RETRIEVER,
    show_default=True,
    help="Retriever to score; `all` scores each.",
)
@click.option(
    "--k",
    "k",
    type=click.IntRange(1, 100),
    default=DEFAULT_K,
    show_default=True,
    help="Passages behind each answer, as in `rag ask`.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--report",
    "report_dir",
    type=SAFE_PATH,
    default=None,
    callback=check_report_dir,
    help="Write report.md, report.json and hit_at_k.png here (scores every retriever).",
)
@click.option(
    "--baseline", type=SAFE_PATH, default=None, help="An earlier report.json or --json output to compare with."
)
@click.option(
    "--sweep",
    "sweep_grid",
    default=None,
    metavar="GRID",
    callback=check_sweep,
    help="Also score chunk settings SIZE:OVERLAP,... (or `default`) on temporary indexes.",
)
@click.option(
    "--beir",
    "beir_dir",
    type=SAFE_PATH,
    default=None,
    help="Evaluate retrieval on a BEIR folder instead (corpus.jsonl, queries.jsonl, qrels/); "
    "with all-MiniLM-L6-v2 unless --model names another.",
)
@click.option("--split", default="test", show_default=True, help="BEIR qrels split.")
@click.option(
    "--chunk-size", type=click.IntRange(50, 20000), default=None, help="BEIR only: chunk size. [default: 1000]"
)
@click.option(
    "--chunk-overlap", type=click.IntRange(0, 10000), default=None, help="BEIR only: chunk overlap. [default: 100]"
)
def eval_command(
    qa_path,
    index_dir,
    model_path,
    retriever,
    k,
    as_json,
    report_dir,
    baseline,
    sweep_grid,
    beir_dir,
    split,
    chunk_size,
    chunk_overlap,
) -> None:
    """Score retrieval (hit@1, hit@5, mrr@10, ndcg@10, recall@5) and answers
    (quote_hit, abstain_rate, false_abstain_rate, confident_oos_rate, caution_rate,
    verbatim_rate) on an eval set, or retrieval (ndcg@10, recall@100, mrr@10) on
    a BEIR folder. confident_oos_rate: out-of-scope questions answered without a
    caution; caution_rate: answerable ones answered with one."""
    from rag.cli import evaluate as cli_eval
    from rag.embed.auto import default_embedder

    # BEIR corpora are thousands of documents: all-mpnet-base-v2 would take
    # about five times MiniLM's build, and the published figures we compare
    # with are MiniLM's, so they keep MiniLM unless a model is named.
    embedder = default_embedder(model_path or ("minilm" if beir_dir is not None else None))
    retrievers = RETRIEVERS if retriever == "all" else (retriever,)
    if beir_dir is not None:
        cli_eval.run_beir(beir_dir, split, retrievers, embedder, chunk_size, chunk_overlap, as_json)
        return
    cli_eval.run_qa(qa_path, index_dir, embedder, retrievers, k, as_json, report_dir, baseline, sweep_grid)


# `rag add`, `rag remove`, `rag list`: the documents of an index (rag.cli.documents);
# `rag info`: what is registered, and what the index holds (rag.cli.info).
# `rag check`: every document read and hashed again (rag.cli.check).
from rag.cli.calibrate import calibrate  # noqa: E402
from rag.cli.check import check  # noqa: E402
from rag.cli.documents import add, list_command, remove  # noqa: E402
from rag.cli.info import info  # noqa: E402
from rag.cli.serving import serve  # noqa: E402

for _command in (serve, add, remove, list_command, info, check, calibrate):
    main.add_command(_command)
