"""The chat page for ``gradio ui/app.py`` (hot reload while editing).

The page itself is ``rag.chat.app`` (inside the package, so an installed
wheel serves it); ``rag serve`` is the way to run it with safe settings.
``demo`` is built on first access, so importing this file loads no model.
"""

from __future__ import annotations

import os


def __getattr__(name: str):
    if name == "demo":
        from rag.chat.app import build_demo
        from rag.pipeline import Rag

        global demo
        demo = build_demo(Rag.open(os.environ.get("RAG_INDEX") or None))
        return demo
    raise AttributeError(name)


if __name__ == "__main__":
    from rag.chat.serve import serve

    serve()
