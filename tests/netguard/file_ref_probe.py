"""What tests/test_file_refs.py runs inside its loopback-only namespace.

    python file_ref_probe.py INDEX guarded|control [rag serve options...]

Starts `rag serve` on the index (``control``: with rag.chat.filerefs' check
switched off in that process, to show that Gradio would then fetch), and
sends a file reference that names a URL or a path never uploaded to every
event the page registers, through every route that runs one: the queue
(``queue/join``), ``run/predict``, and ``call/``, ``run/`` and ``api/`` by
api name; then to two routes that are not calls. Prints one JSON line:
each request's route and status, and whether the server was still alive.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

# Both would reach outside if fetched: a name (a DNS query) and a public address (a connect()).
TARGETS = ("http://rag-probe.example/notes.txt", "http://93.184.215.14/notes.txt")
NEVER_UPLOADED = "/etc/hostname"
# The guard with its body checks off (file references and the values' types), as on main before issue 24.
CONTROL = (
    "import sys, rag.chat.filerefs as f, rag.chat.calls as c; f.refusal = lambda payload, issued: None; "
    "c._check_data = lambda *a: None; from rag.cli.main import main; sys.argv[0] = 'rag'; main()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def file_data(path: str) -> dict:
    return {
        "path": path,
        "url": path,
        "orig_name": "notes.txt",
        "size": 10,
        "mime_type": "text/plain",
        "meta": {"_type": "gradio.FileData"},
    }


def post(base: str, path: str, payload: dict) -> tuple[int, str]:
    request = urllib.request.Request(base + path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")[:200]
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")[:200]
    except OSError as err:  # no answer in time (the control's fetches can hang a request): 0
        return 0, f"{type(err).__name__}: {err}"


def probes(config: dict):
    """(route, body) for every event, every route, each file reference in turn."""
    for n, target in enumerate([*TARGETS, NEVER_UPLOADED]):
        ref = file_data(target)
        for dep in config["dependencies"]:
            fn, inputs, name = dep["id"], len(dep["inputs"]), dep.get("api_name")
            session = f"probe{n}x{fn}"
            # Every value a file reference, and one in event_data too (zero-input events have only that).
            base = {"data": [ref] * inputs, "event_data": {"value": ref}, "trigger_id": None}
            yield "queue/join", fn, {**base, "fn_index": fn, "session_hash": session}
            yield "run/predict", fn, {**base, "fn_index": fn, "session_hash": session}
            if isinstance(name, str):
                for route in (f"call/{name}", f"run/{name}", f"api/{name}"):
                    yield route, fn, {**base, "session_hash": session}
        yield "component_server", None, {"session_hash": "x", "component_id": 1, "fn_name": "x", "data": ref}
        yield "reset", None, {"session_hash": "x", "fn_index": 0, "event_id": "x", "data": [ref]}


def main(index: str, mode: str, options: list[str]) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        *(["-c", CONTROL] if mode == "control" else ["-m", "rag.cli"]),
        "serve",
        "--port",
        str(port),
        "--index",
        index,
        *options,
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    results = []
    try:
        while True:
            if proc.poll() is not None:
                return {"error": f"rag serve exited {proc.returncode}: {proc.stderr.read()[-2000:]}"}
            try:
                with urllib.request.urlopen(f"{base}/config", timeout=30) as resp:
                    config = json.loads(resp.read())
                break
            except OSError:
                time.sleep(0.5)
        # The control needs only show a fetch: one event that takes a list, by the unqueued route
        # (with its checks off, the server stops answering once a few fetches hang).
        search_in = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "search_in")
        chosen = (
            probes(config)
            if mode == "guarded"
            else [
                (route, fn, body)
                for route, fn, body in probes(config)
                if route == "run/predict" and fn == search_in and NEVER_UPLOADED not in json.dumps(body)
            ]
        )
        for route, fn, body in chosen:
            status, text = post(base, f"/gradio_api/{route}", body)
            results.append({"route": route, "fn": fn, "status": status, "text": text})
        time.sleep(5)  # queued events run after join answers: give them time to try a fetch
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"results": results, "alive": alive, "events": len(config["dependencies"])}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3:])))
