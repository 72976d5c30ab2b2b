"""rag.chat.guard on its own: a tiny ASGI app behind it, every decision checked.

The real server behind the same guard is probed in tests/test_hostile_table.py
and tests/test_server_security.py; these show each rule can fail and pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Starlette comes with the ui extra (gradio): without it these tests are skipped, not broken.
pytest.importorskip("starlette", reason="the ui extra is not installed")
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from rag.chat.guard import CONTENT_SECURITY_POLICY, MAX_JSON_BODY, Guard, Policy, split_host

pytestmark = pytest.mark.unit  # no model, no browser (pyproject.toml's markers)

PORT = 7860
BASE = f"http://127.0.0.1:{PORT}"


def make_client(policy: Policy | None = None, base: str = BASE) -> tuple[TestClient, list]:
    seen: list = []

    async def echo(request):
        body = await request.body()
        seen.append((request.url.path, body))
        return PlainTextResponse("reached")

    async def boom(request):
        raise RuntimeError("secret detail /etc/passwd")

    app = Starlette(
        routes=[Route("/{path:path}", echo, methods=["GET", "POST", "HEAD"]), Route("/boom", boom)][::-1],
        middleware=[
            Middleware(
                Guard, policy=policy or Policy("127.0.0.1", fn_indices=frozenset({0, 3}), api_names=frozenset({"chat"}))
            )
        ],
    )
    return TestClient(app, base_url=base, raise_server_exceptions=False), seen


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}", f"LOCALHOST:{PORT}"])
def test_loopback_names_on_the_served_port_pass(host):
    client, seen = make_client()
    assert client.get("/", headers={"Host": host}).status_code == 200 and seen


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:7860",
        "evil.example",
        "127.0.0.1:7861",
        "127.0.0.1",
        "127.0.0.1.evil.example:7860",
        "[::1",
        "a b:7860",
        "10.0.0.5:7860",
    ],
)
def test_other_hosts_are_refused_before_the_app(host):
    client, seen = make_client()
    response = client.get("/", headers={"Host": host})
    assert response.status_code == 400 and "Host" in response.json()["detail"] and not seen


def test_an_allowed_name_and_a_wildcard_bind():
    client, _ = make_client(Policy("127.0.0.1", allowed_hosts=frozenset({"rag.lan"})))
    assert client.get("/", headers={"Host": f"rag.lan:{PORT}"}).status_code == 200
    client, _ = make_client(Policy("0.0.0.0"))
    # On every interface: any address literal reaches it (a literal cannot be
    # rebound to another address); a name still needs --allow-host.
    assert client.get("/", headers={"Host": f"192.168.1.20:{PORT}"}).status_code == 200
    assert client.get("/", headers={"Host": f"evil.example:{PORT}"}).status_code == 400


def test_split_host():
    assert split_host("[::1]:80") == ("::1", 80) and split_host("Example.COM") == ("example.com", None)
    assert split_host("[nonsense]:80") is None and split_host("a@b:80") is None


@pytest.mark.parametrize(
    "origin, status",
    [
        (BASE, 200),
        (f"http://localhost:{PORT}", 403),
        ("http://evil.example", 403),
        ("null", 403),
        (f"https://127.0.0.1:{PORT}", 403),
        (f"http://127.0.0.1:{PORT + 1}", 403),
    ],
)
def test_origin_must_be_this_page(origin, status):
    client, _ = make_client()
    assert client.post("/gradio_api/reset", json={}, headers={"Origin": origin}).status_code == status


@pytest.mark.parametrize(
    "site, mode, status",
    [
        ("cross-site", "no-cors", 403),
        ("cross-site", "cors", 403),
        ("same-site", "no-cors", 403),
        ("cross-site", "navigate", 200),
        ("same-origin", "cors", 200),
        ("none", "navigate", 200),
    ],
)
def test_requests_from_other_sites_are_refused_except_navigation(site, mode, status):
    client, _ = make_client()
    response = client.get("/gradio_api/info", headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode})
    assert response.status_code == status


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=http://192.0.2.1/x",
        "/gradio_api/file=https://internal.example/x",
        "/gradio_api/file/http://192.0.2.1/x",
        "/gradio_api/file=HTTP://192.0.2.1/x",
        "/gradio_api/file=http%3A%2F%2F192.0.2.1%2Fx",
        "/gradio_api/proxy=http://192.0.2.1/",
        "/gradio_api/proxy=x",
        "/file=http://192.0.2.1/x",
    ],
)
def test_url_routes_are_refused_before_the_app(path):
    client, seen = make_client()
    response = client.get(path)
    assert response.status_code == 403 and not seen, response.text


def test_a_plain_file_path_is_left_to_gradio():
    client, seen = make_client()
    assert client.get("/gradio_api/file=/tmp/gradio/x.png").status_code == 200 and seen


@pytest.mark.parametrize("size", [0, 1, 5000])
def test_uploads_of_any_size_are_refused(size):
    client, seen = make_client()
    files = {"files": ("x.txt", b"x" * size, "text/plain")}
    for path in ("/gradio_api/upload", "/gradio_api/process_recording", "/gradio_api/component_server"):
        response = client.post(path, files=files)
        assert response.status_code == 413 and "uploads" in response.json()["detail"], path
    assert (
        client.post("/gradio_api/upload", content=b"", headers={"Content-Type": "application/octet-stream"}).status_code
        == 413
    )
    assert not seen


def test_uploads_can_be_switched_on_with_a_bound(tmp_path):
    """With a store (rag.chat.upload_store) the guard answers the upload route
    itself, within the request bound; the app behind it never sees an upload."""
    from rag.chat.upload_store import Quota, UploadStore

    (tmp_path / "up").mkdir(mode=0o700)
    store = UploadStore(tmp_path / "up", Quota(files=20, file_bytes=10_000, session_bytes=50_000, server_bytes=50_000))
    client, seen = make_client(Policy("127.0.0.1", max_upload=2000, uploads=store))
    small = client.post("/gradio_api/upload", files={"files": ("a.txt", b"x" * 100, "text/plain")})
    assert small.status_code == 200 and Path(small.json()[0]).read_bytes() == b"x" * 100
    big = client.post("/gradio_api/upload", files={"files": ("b.txt", b"x" * 5000, "text/plain")})
    assert big.status_code == 413 and not seen


@pytest.mark.parametrize(
    "path, body, status, detail",
    [
        ("/gradio_api/queue/join", {"fn_index": 99, "data": [], "session_hash": "s"}, 422, "unknown fn_index"),
        ("/gradio_api/queue/join", {"fn_index": "0", "data": [], "session_hash": "s"}, 422, "unknown fn_index"),
        ("/gradio_api/queue/join", {"fn_index": True, "data": [], "session_hash": "s"}, 422, "unknown fn_index"),
        ("/gradio_api/queue/join", {"fn_index": 0, "data": None, "session_hash": "s"}, 422, "'data' must be a list"),
        ("/gradio_api/queue/join", {"fn_index": 0, "data": []}, 422, "session_hash"),
        ("/gradio_api/queue/join", [1, 2], 422, "JSON object"),
        ("/gradio_api/run/predict", {"fn_index": 7, "data": []}, 422, "unknown fn_index"),
        ("/gradio_api/call/nosuch", {"data": []}, 404, "no such endpoint"),
        ("/gradio_api/call/v2/chat", {"data": []}, 404, "not found"),
        (
            "/gradio_api/queue/join",
            {
                "fn_index": 0,
                "data": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
                "session_hash": "s",
            },
            422,
            "nests more than",
        ),
    ],
)
def test_malformed_calls_get_4xx_before_the_app(path, body, status, detail):
    client, seen = make_client()
    response = client.post(path, json=body)
    assert response.status_code == status and detail in response.json()["detail"] and not seen


def test_bodies_that_are_not_json_or_too_big_are_refused():
    client, seen = make_client()
    assert client.post("/gradio_api/queue/join", content=b"{nope").status_code == 400
    assert client.post("/gradio_api/queue/join", content=b"\xff\xfe").status_code == 400
    big = json.dumps({"fn_index": 0, "data": ["x" * MAX_JSON_BODY], "session_hash": "s"})
    assert client.post("/gradio_api/queue/join", content=big).status_code == 413
    assert not seen


def test_a_well_formed_call_reaches_the_app_unchanged():
    client, seen = make_client()
    body = json.dumps({"fn_index": 3, "data": ["Who is Michael Kofman?", "fusion", 5, None], "session_hash": "s"})
    assert client.post("/gradio_api/queue/join", content=body).status_code == 200
    assert seen == [("/gradio_api/queue/join", body.encode())]


def test_lone_surrogates_in_a_call_become_replacement_characters():
    client, seen = make_client()
    body = '{"fn_index": 0, "data": ["Who is \\ud800 Kofman?"], "session_hash": "s"}'
    assert client.post("/gradio_api/queue/join", content=body).status_code == 200
    assert json.loads(seen[0][1])["data"] == ["Who is \ufffd Kofman?"]


def test_every_response_carries_the_security_headers():
    client, _ = make_client()
    for response in (
        client.get("/"),
        client.get("/", headers={"Host": "evil.example"}),
        client.get("/gradio_api/file=http://192.0.2.1/"),
        client.get("/boom"),
    ):
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_the_page_allows_its_own_inline_scripts_by_hash_and_nothing_else():
    import base64
    import hashlib

    from starlette.responses import HTMLResponse

    page = "<html><script>window.a = 1;</script><script src='./x.js'></script><script>b()</script></html>"

    async def html(request):
        return HTMLResponse(page)

    app = Starlette(
        routes=[Route("/", html), Route("/other", html)], middleware=[Middleware(Guard, policy=Policy("127.0.0.1"))]
    )
    client = TestClient(app, base_url=BASE)
    expected = sorted(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"
        for code in ("window.a = 1;", "b()")
    )
    response = client.get("/")
    assert response.text == page
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY.replace(
        "'unsafe-eval'", "'unsafe-eval' " + " ".join(expected)
    )
    assert client.get("/other").headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_an_unexpected_error_is_a_plain_500_without_details():
    client, _ = make_client()
    response = client.get("/boom")
    assert response.status_code == 500 and response.json() == {"detail": "internal error"}
    assert "passwd" not in response.text and "Traceback" not in response.text


def test_websockets_get_the_same_host_check():
    from starlette.websockets import WebSocketDisconnect

    client, _ = make_client()
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"Host": "evil.example:7860"}) as ws:
            ws.receive_text()
