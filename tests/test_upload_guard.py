"""Issue 24 at the gate, without Gradio: file references in request bodies
(rag.chat.filerefs), the upload store (rag.chat.upload_store) and the shape
of a call's values (rag.chat.calls), each rule shown to refuse and to pass.

The real server behind the same gate, inside a loopback-only namespace under
strace, is in tests/test_file_refs.py; disk use on a real server in
tests/test_upload_limits.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from rag.chat.calls import STATE
from rag.chat.guard import Guard, Policy
from rag.chat.upload_store import COOKIE, Quota, UploadStore

BASE = "http://127.0.0.1:7860"
QUEUE = "/gradio_api/queue/join"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store_in(tmp_path: Path, clock=None, **quota) -> UploadStore:
    root = tmp_path / "gradio" / "rag-uploads-test"
    root.mkdir(parents=True, mode=0o700)
    bounds = {"files": 3, "file_bytes": 1000, "session_bytes": 1500, "server_bytes": 2500, "expiry_s": 60} | quota
    return UploadStore(root, Quota(**bounds), clock or Clock())


def app_with(store: UploadStore | None):
    seen: list = []

    async def echo(request):
        if request.method != "GET":  # a visitor's first page load is not what the tests look for
            seen.append((request.url.path, await request.body()))
        return PlainTextResponse("reached")

    policy = Policy(
        "127.0.0.1",
        fn_indices=frozenset({0, 1}),
        api_names=frozenset({"chat", "add"}),
        inputs={
            0: ("string", "number", STATE),
            "chat": ("string", "number", STATE),
            1: ("any", "array of string"),
            "add": ("any", "array of string"),
        },
        max_upload=10_000 if store else 0,
        uploads=store,
    )
    app = Starlette(
        routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT"])],
        middleware=[Middleware(Guard, policy=policy)],
    )
    return app, seen


def visitor(app) -> TestClient:
    """One browser: it keeps the cookie the page sets."""
    client = TestClient(app, base_url=BASE)
    assert client.get("/").status_code == 200 and client.cookies.get(COOKIE)
    return client


def upload(client: TestClient, *files: tuple[str, bytes]):
    return client.post("/gradio_api/upload", files=[("files", (name, data, "text/plain")) for name, data in files])


def file_data(path: str) -> dict:
    return {
        "path": path,
        "url": f"{BASE}/gradio_api/file={path}",
        "orig_name": "x.txt",
        "meta": {"_type": "gradio.FileData"},
    }


def on_disk(store: UploadStore) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- file references in bodies

URLS = [
    "http://93.184.215.14/x.txt",
    "https://rag-probe.example/x",
    "HTTP://192.0.2.1/x",
    "file:///etc/passwd",
    "ftp://192.0.2.1/x",
    "data:text/plain,hello",
    "//192.0.2.1/x",
    "  http://192.0.2.1/x",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(
    "path, body",
    [
        (QUEUE, lambda ref: {"fn_index": 1, "session_hash": "s", "data": [[ref], []]}),
        ("/gradio_api/run/predict", lambda ref: {"fn_index": 0, "data": [ref, 3, None], "session_hash": "s"}),
        ("/gradio_api/call/chat", lambda ref: {"data": ["q", 3, ref]}),
        (QUEUE, lambda ref: {"fn_index": 0, "session_hash": "s", "data": ["q", 3, None], "event_data": {"a": [ref]}}),
        ("/gradio_api/component_server", lambda ref: {"fn_name": "x", "component_id": 1, "data": ref}),
        ("/gradio_api/stream/abc", lambda ref: {"fn_index": 0, "data": ["q", 3, None], "x": {"y": ref}}),
    ],
)
def test_a_url_in_any_body_is_refused_before_the_app(tmp_path, url, path, body):
    app, seen = app_with(store_in(tmp_path))
    response = visitor(app).post(path, json=body(file_data(url)))
    assert response.status_code == 403 and response.json()["detail"] == "this server fetches no URL", response.text
    assert not [s for s in seen if s[0] == path]


@pytest.mark.parametrize(
    "ref, status",
    [
        ({"path": "/etc/passwd"}, 403),  # Gradio's older FileData shape: a path alone
        (file_data("/tmp/gradio/abc/report.pdf"), 403),  # a path this server never issued
        ({"path": 5, "meta": {"_type": "gradio.FileData"}}, 422),
        ({"meta": {"_type": "gradio.FileData"}, "url": "http://192.0.2.1/x"}, 422),
    ],
)
def test_a_file_the_server_never_issued_is_refused(tmp_path, ref, status):
    app, seen = app_with(store_in(tmp_path))
    response = visitor(app).post(QUEUE, json={"fn_index": 1, "session_hash": "s", "data": [[ref], []]})
    assert response.status_code == status and not seen, response.text


def test_a_read_only_page_refuses_every_file_reference():
    app, seen = app_with(None)
    client = TestClient(app, base_url=BASE)
    response = client.post(
        QUEUE, json={"fn_index": 1, "session_hash": "s", "data": [[file_data("/tmp/gradio/x/a.txt")], []]}
    )
    assert response.status_code == 403 and not seen


def test_an_upload_is_named_only_by_its_own_visitor_and_only_while_it_is_there(tmp_path):
    store = store_in(tmp_path)
    app, seen = app_with(store)
    alice, mallory = visitor(app), visitor(app)
    (path,) = upload(alice, ("notes.txt", b"kettle")).json()
    body = {"fn_index": 1, "session_hash": "s", "data": [[file_data(path)], []]}
    assert mallory.post(QUEUE, json=body).status_code == 403 and not seen
    assert alice.post(QUEUE, json=body).status_code == 200 and len(seen) == 1
    Path(path).unlink()  # the page read it and deleted it (rag.chat.documents_panel)
    assert alice.post(QUEUE, json=body).status_code == 403 and len(seen) == 1


# ---------------------------------------------------------------- the upload route


def test_an_upload_is_stored_privately_under_its_name(tmp_path):
    store = store_in(tmp_path)
    app, seen = app_with(store)
    response = upload(visitor(app), ("../../Report (Final).txt", b"abc"))
    (path,) = response.json()
    assert response.status_code == 200 and not seen
    assert Path(path).name == "Report (Final).txt" and Path(path).parent.parent == store.root
    assert Path(path).read_bytes() == b"abc" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert oct(os.stat(Path(path).parent).st_mode & 0o777) == "0o700"


def test_a_first_upload_without_the_cookie_gets_one(tmp_path):
    store = store_in(tmp_path)
    app, _ = app_with(store)
    client = TestClient(app, base_url=BASE)
    response = upload(client, ("a.txt", b"abc"))
    token = response.cookies.get(COOKIE)
    assert response.status_code == 200 and token and "HttpOnly" in response.headers["set-cookie"]
    assert "SameSite=Strict" in response.headers["set-cookie"]
    assert store.issued(token, response.json()[0])


@pytest.mark.parametrize(
    "files, status, detail",
    [
        ([("empty.txt", b"")], 400, "empty.txt is empty (0 bytes)"),
        ([("a.txt", b"a"), ("empty.txt", b"")], 400, "is empty"),
        ([("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c"), ("d.txt", b"d")], 413, "more than 3 files in one upload"),
        ([("big.txt", b"x" * 1001)], 413, "big.txt is over"),
    ],
)
def test_bad_uploads_are_refused_whole_and_leave_nothing(tmp_path, files, status, detail):
    store = store_in(tmp_path)
    app, seen = app_with(store)
    response = upload(visitor(app), *files)
    assert response.status_code == status and detail in response.json()["detail"], response.text
    assert on_disk(store) == [] and store.held() == 0 and not seen


@pytest.mark.parametrize(
    "body, detail",
    [
        (b'--x\r\nContent-Disposition: form-data; name="files"\r\n\r\nhello\r\n--x--\r\n', "needs a file name"),
        (
            b'--x\r\nContent-Disposition: form-data; name="other"; filename="a.txt"\r\n\r\nhi\r\n--x--\r\n',
            "named 'files'",
        ),
        (b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhi', "malformed"),
        (b"", "holds no file"),
    ],
)
def test_malformed_multipart_is_a_4xx(tmp_path, body, detail):
    store = store_in(tmp_path)
    app, _ = app_with(store)
    response = visitor(app).post(
        "/gradio_api/upload", content=body, headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 400 and detail in response.json()["detail"], response.text
    assert on_disk(store) == []


def test_what_a_visitor_and_the_server_hold_is_bounded(tmp_path):
    store = store_in(tmp_path)  # 1,500 bytes a visitor, 2,500 for the server
    app, _ = app_with(store)
    alice, bob, carol = visitor(app), visitor(app), visitor(app)
    assert upload(alice, ("a.txt", b"a" * 1000)).status_code == 200
    refused = upload(alice, ("b.txt", b"b" * 600))
    assert refused.status_code == 413 and "held for this page" in refused.json()["detail"]
    assert upload(bob, ("c.txt", b"c" * 1000)).status_code == 200
    refused = upload(carol, ("d.txt", b"d" * 600))
    assert refused.status_code == 413 and "held by this server" in refused.json()["detail"]
    assert store.held() == 2000 and sum(p.stat().st_size for p in store.root.rglob("*") if p.is_file()) == 2000


def test_uploads_never_added_are_deleted_after_the_expiry(tmp_path):
    clock = Clock()
    store = store_in(tmp_path, clock)
    app, _ = app_with(store)
    alice = visitor(app)
    (path,) = upload(alice, ("a.txt", b"a" * 1000)).json()
    clock.now += 59
    store.sweep()
    assert Path(path).exists() and store.held() == 1000
    clock.now += 2
    store.sweep()
    assert not Path(path).exists() and on_disk(store) == [] and store.held() == 0
    assert not list(store.root.iterdir())  # its folder went too
    assert upload(alice, ("b.txt", b"b" * 1000)).status_code == 200  # room again


@pytest.mark.parametrize("route", ["/gradio_api/file={p}", "/gradio_api/file/{p}", "/file={p}", "/gradio_api/file={q}"])
def test_stored_uploads_are_never_served(tmp_path, route):
    store = store_in(tmp_path)
    app, seen = app_with(store)
    alice = visitor(app)
    (path,) = upload(alice, ("a.txt", b"secret")).json()
    # {q}: the same file by a path that only resolves into the private folder.
    os.symlink(store.root, tmp_path / "innocent")
    target = route.format(p=path, q=str(tmp_path / "innocent" / Path(path).relative_to(store.root)))
    response = alice.get(target)
    assert response.status_code == 403 and "not served" in response.json()["detail"] and not seen


def test_multipart_anywhere_but_the_upload_route_is_refused(tmp_path):
    app, seen = app_with(store_in(tmp_path))
    response = visitor(app).post(QUEUE, files={"files": ("a.txt", b"a", "text/plain")})
    assert response.status_code == 415 and not seen
    response = visitor(app).post("/gradio_api/process_recording", files={"files": ("a.txt", b"a", "text/plain")})
    assert response.status_code in (404, 415) and not seen


# ---------------------------------------------------------------- the values of a call


@pytest.mark.parametrize(
    "path, body, detail",
    [
        ("/gradio_api/run/predict", {"fn_index": 0, "data": [], "session_hash": "s"}, "must hold 3 values"),
        ("/gradio_api/run/predict", {"fn_index": 0, "data": ["q", 3], "session_hash": "s"}, "must hold 3 values"),
        ("/gradio_api/run/predict", {"fn_index": 0, "data": [5, 3, None], "session_hash": "s"}, "value 1 must be text"),
        (
            "/gradio_api/run/predict",
            {"fn_index": 0, "data": ["q", "3", None], "session_hash": "s"},
            "value 2 must be a number",
        ),
        (
            "/gradio_api/run/predict",
            {"fn_index": 0, "data": ["q", True, None], "session_hash": "s"},
            "value 2 must be a number",
        ),
        ("/gradio_api/run/predict", {"data": ["q", 3, None], "session_hash": "s"}, "fn_index is required"),
        (QUEUE, {"fn_index": 1, "data": [None, "kettle"], "session_hash": "s"}, "value 2 must be a list of text"),
        (QUEUE, {"fn_index": 1, "data": [None, [1, 2]], "session_hash": "s"}, "value 2 must be a list of text"),
        ("/gradio_api/call/chat", {"data": [["q"], 3]}, "value 1 must be text"),
        ("/gradio_api/call/chat", {"data": []}, "must hold 3 values"),
    ],
)
def test_wrong_typed_or_missing_values_are_a_422(tmp_path, path, body, detail):
    app, seen = app_with(store_in(tmp_path))
    response = visitor(app).post(path, json=body)
    assert response.status_code == 422 and detail in response.json()["detail"] and not seen, response.text


@pytest.mark.parametrize(
    "path, body",
    [
        ("/gradio_api/run/predict", {"fn_index": 0, "data": ["q", 3, None], "session_hash": "s"}),
        ("/gradio_api/run/predict", {"fn_index": 0, "data": [None, 3.5, {"any": "state"}], "session_hash": "s"}),
        ("/gradio_api/call/chat", {"data": ["q", 3]}),  # the state left out, as Gradio allows by name
        (QUEUE, {"fn_index": 1, "data": [None, ["kettle"]], "session_hash": "s"}),
        # The page sends a text box's new value as event_data of its change event.
        (
            "/gradio_api/run/predict",
            {"fn_index": 0, "data": ["Who?", 3, None], "event_data": "Who?", "session_hash": "s"},
        ),
    ],
)
def test_well_typed_values_pass(tmp_path, path, body):
    app, seen = app_with(store_in(tmp_path))
    response = visitor(app).post(path, json=body)
    assert response.status_code == 200 and json.loads(seen[-1][1]) == body
