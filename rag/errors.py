"""The errors a user can act on.

Every message is one line that names the problem and, where there is one, the
command that fixes it. The CLI prints it and exits 1; nothing else in the
package prints tracebacks at users.
"""


class RagError(Exception):
    """Base class: a problem with input, files or settings, not a bug."""


class CorpusError(RagError):
    """The corpus folder is missing or holds no usable document."""


class IndexMissing(RagError):
    """No built index where one was expected."""


class IndexMismatch(RagError):
    """The index on disk was built from other settings, model or corpus."""


class IndexCorrupt(RagError):
    """An index file is truncated, altered or unreadable."""


class IndexBusy(RagError):
    """Another process is building the same index."""


class ModelError(RagError):
    """The embedding model cannot be found or loaded."""


class QuestionError(RagError):
    """The question cannot be answered as given (empty, say)."""


class EvalDataError(RagError):
    """An eval or benchmark file is malformed."""
