"""Issue 24, point 4, on a real `rag serve`: what uploads may hold on disk,
measured in the server's own Gradio folder (GRADIO_TEMP_DIR) after each step.

Limits here: 2 files a request, 1 MB a file, so 2 MB a visitor, and 3 MB for
the server; an upload never added is deleted after 8 s.
"""

from __future__ import annotations

import http.client
import json
import shutil
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.test_hostile_table import _serve

pytestmark = pytest.mark.slow

MB = 1024 * 1024
EXPIRY_S = 8


@pytest.fixture(scope="module")
def limited(tmp_path_factory, essays_index):
    folder = tmp_path_factory.mktemp("limits")
    # A copy: a document is added to it.
    shutil.copytree(essays_index.path.parent, folder / "index", symlinks=True)
    gradio = folder / "gradio"
    env = {
        "GRADIO_TEMP_DIR": str(gradio),
        "RAG_MAX_FILES": "2",
        "RAG_MAX_FILE_MB": "1",
        "RAG_UPLOAD_TOTAL_MB": "3",
        "RAG_UPLOAD_EXPIRY_S": str(EXPIRY_S),
    }
    for server in _serve(folder, folder / "index" / essays_index.path.name, env=env):
        yield server, gradio


def disk(gradio: Path) -> int:
    """Bytes of every regular file under the server's Gradio folder."""
    return sum(p.stat().st_size for p in gradio.rglob("*") if p.is_file())


class Visitor:
    """One browser: the cookie the page sets, sent back with each request."""

    def __init__(self, port: int):
        self.port, self.cookie = port, ""
        self.request("GET", "/config")
        assert self.cookie.startswith("rag_uploads=")

    def request(self, method: str, path: str, body: bytes | None = None, headers=None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request(
            method, path, body=body, headers={**(headers or {}), **({"Cookie": self.cookie} if self.cookie else {})}
        )
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        set_cookie = resp.getheader("set-cookie")
        if set_cookie and not self.cookie:
            self.cookie = set_cookie.split(";")[0]
        return resp.status, data

    def upload(self, *files: tuple[str, bytes]) -> tuple[int, object]:
        parts = b"".join(
            f'--b\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/plain\r\n\r\n".encode()
            + data
            + b"\r\n"
            for name, data in files
        )
        status, data = self.request(
            "POST", "/gradio_api/upload", parts + b"--b--\r\n", {"Content-Type": "multipart/form-data; boundary=b"}
        )
        return status, json.loads(data)


def text(n: int, word: bytes = b"kettle ") -> bytes:
    return (word * (n // len(word) + 1))[:n]


def test_uploads_are_bounded_private_and_deleted(limited):
    server, gradio = limited
    alice, bob, carol = (Visitor(server.port) for _ in range(3))
    assert disk(gradio) == 0
    # Refused whole at upload time, nothing stored.
    assert alice.upload(("empty.txt", b""))[0] == 400
    assert alice.upload(("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c"))[0] == 413
    assert alice.upload(("big.txt", text(MB + 1)))[0] == 413
    assert disk(gradio) == 0
    # A visitor holds 2 MB at most, the server 3 MB.
    status, (first,) = alice.upload(("notes one.txt", text(MB)))
    assert status == 200 and disk(gradio) == MB
    assert alice.upload(("two.txt", text(MB)))[0] == 200
    status, refused = alice.upload(("three.txt", text(100)))
    assert status == 413 and "held for this page" in refused["detail"] and disk(gradio) == 2 * MB
    assert bob.upload(("bob.txt", text(MB)))[0] == 200
    status, refused = carol.upload(("carol.txt", text(10)))
    assert status == 413 and "held by this server" in refused["detail"] and disk(gradio) == 3 * MB
    # Never served back, to anyone.
    for who in (alice, bob):
        assert who.request("GET", "/gradio_api/file=" + urllib.parse.quote(first))[0] == 403
    # Uploads never added go after the expiry: the disk is empty again, and there is room.
    time.sleep(EXPIRY_S + 2)
    assert disk(gradio) == 0
    assert carol.upload(("carol.txt", text(10)))[0] == 200
    server.quiet()


def test_an_upload_is_deleted_once_added_and_bobs_cannot_be_added_by_alice(limited):
    server, gradio = limited
    alice, mallory = Visitor(server.port), Visitor(server.port)
    config = json.loads(alice.request("GET", "/config")[1])
    add = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "add_documents")
    before = disk(gradio)
    status, (path,) = alice.upload(("kettle care.txt", b"Kettle Care\n\nDescale the kettle once a month.\n"))
    assert status == 200 and disk(gradio) > before
    ref = {"path": path, "orig_name": "kettle care.txt", "meta": {"_type": "gradio.FileData"}}
    body = json.dumps({"fn_index": add, "session_hash": "mallory1", "data": [[ref], []]}).encode()
    status, answer = mallory.request("POST", "/gradio_api/queue/join", body, {"Content-Type": "application/json"})
    assert status == 403 and Path(path).exists(), answer
    body = body.replace(b"mallory1", b"alice1")
    assert alice.request("POST", "/gradio_api/queue/join", body, {"Content-Type": "application/json"})[0] == 200
    status, stream = alice.request("GET", "/gradio_api/queue/data?session_hash=alice1")
    assert b"Added kettle-care" in stream, stream[-500:]
    assert not Path(path).exists() and disk(gradio) == before
    server.quiet()
