"""``rag calibrate``: fit a model's answer weights and answerability model (rag.evaluation.fit)."""

from __future__ import annotations

import click

from rag.cli.options import model_option
from rag.text import safe, safe_name


@click.command()
@model_option
@click.option("--ship", is_flag=True, help="Write rag/tuning/ (the tuning rag ships) instead of the cache.")
@click.option(
    "--max-false-abstain",
    type=click.FloatRange(0.0, 0.5),
    default=0.03,
    show_default=True,
    help="Share of answerable development questions the answerability model may refuse (cross-validated).",
)
@click.option(
    "--max-caution",
    type=click.FloatRange(0.0, 0.5),
    default=0.15,
    show_default=True,
    help="Share of answerable development questions whose answers may come with a caution that they "
    "may not answer the question (cross-validated; refusals count in it).",
)
@click.option(
    "--keep-weights", is_flag=True, help="Keep the model's shipped evidence weights; fit only the answerability model."
)
def calibrate(model_path, ship, max_false_abstain, max_caution, keep_weights) -> None:
    """Fit the answer weights and the answerability model for a model.

    Weights and thresholds belong to the model they were fitted with: a model
    without them still answers, but with a note that questions the documents
    do not answer may get quotations. This fits them on the project's
    development question sets (eval/essays_qa.jsonl, eval/check_qa.jsonl,
    eval/dev_qa.jsonl, eval/dev2_qa.jsonl) over the bundled corpus, prints the cross-validated
    figures, and writes them where rag finds them for that model.
    """
    from rag.embed.auto import default_embedder
    from rag.evaluation.fit import calibrate as fit

    path, report = fit(
        default_embedder(model_path),
        ship=ship,
        max_false_abstain=max_false_abstain,
        progress=not ship,
        max_caution=max_caution,
        keep_weights=keep_weights,
    )
    click.echo(safe("\n".join(report)))
    click.echo(f"Wrote {safe_name(str(path))}", err=True)
