"""Nothing leaves the machine: `rag serve` for over a minute with questions, and
a `rag index` of over 30 s, each inside a network namespace of its own with
loopback only, watched two ways:

- strace -f records every connect/sendto/sendmsg of the process and its
  children, native code included (onnxruntime's telemetry resolved its host
  from C++, where no Python hook sees it);
- tests/netguard/sitecustomize.py records every Python-level lookup and connect.

Either seeing one attempt to reach beyond loopback (or any DNS query, port
53, even to a local resolver) fails the test. The namespace makes sure that
an attempt, should one happen, reaches nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT
from tests.test_security import guarded_env, outbound_attempts

pytestmark = [pytest.mark.slow, pytest.mark.model]

NETGUARD = ROOT / "tests" / "netguard"
LOOPBACK_ONLY = NETGUARD / "loopback_only.py"
SESSION = NETGUARD / "watched_session.py"
SERVE_SECONDS = 65
INDEX_AT_LEAST_S = 30
TELEMETRY_DIR = Path(".cache") / "Microsoft"

_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


def strace() -> str:
    found = shutil.which("strace")
    assert found, "strace is needed to watch native code; scripts/test.sh installs it (apt-get install strace)"
    return found


def reaches_out(line: str) -> bool:
    """An strace line that tries to reach beyond loopback, or asks DNS anything."""
    if "AF_INET" not in line:
        return False
    port = _PORT.search(line)
    if port and port.group(1) == "53":
        return True
    for v4, v6 in _ADDRESS.findall(line):
        address = v4 or v6
        if not (address.startswith(("127.", "::ffff:127.")) or address in ("::1", "0.0.0.0", "::")):
            return True
    return False


def watched(
    args: list[str], tmp_path: Path, timeout: float, hook_on: bool = True
) -> tuple[subprocess.CompletedProcess, list[str], list[str]]:
    """Run ``args`` (a Python script and its arguments) in a loopback-only
    namespace under strace and the Python hook, with a fresh HOME.
    ``hook_on=False`` leaves the hook out (it refuses a lookup before glibc
    makes one): then strace alone watches, as controls need."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    trace, hook = tmp_path / "strace.log", tmp_path / "net.log"
    env = guarded_env(hook)
    if not hook_on:
        env["PYTHONPATH"] = str(ROOT)
    from rag.index.seal import key_path
    from rag.settings import cache_root

    # A fresh HOME, but this user's model cache and index key (the indexes served were sealed with it).
    env.update(HOME=str(home), RAG_CACHE=str(cache_root()), RAG_KEY_FILE=str(key_path()), RAG_THREADS="1")
    env.pop("ORT_DISABLE_TELEMETRY", None)  # rag must set it itself
    command = [
        sys.executable,
        str(LOOPBACK_ONLY),
        strace(),
        "-f",
        "-qq",
        "--seccomp-bpf",
        "-e",
        "trace=connect,sendto,sendmsg",
        "-o",
        str(trace),
        sys.executable,
        *args,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
    lines = trace.read_text(errors="replace").splitlines() if trace.exists() else []
    return result, lines, outbound_attempts(hook) if hook_on else []


def _loopback_seen(lines: list[str]) -> bool:
    return any('inet_addr("127.0.0.1")' in line for line in lines)


def test_the_watch_catches_a_native_lookup(tmp_path):
    """Control: a lookup made by C code (getaddrinfo in glibc, as onnxruntime's
    was) shows in the strace log, so the tests below can fail."""
    code = (
        "import ctypes, socket; socket.socket().close(); "
        "print(ctypes.CDLL(None).gethostbyname(b'mobile.events.data.microsoft.com'))"
    )
    result, lines, _ = watched(["-c", code], tmp_path, 120)
    assert result.returncode == 0, result.stderr
    assert [line for line in lines if reaches_out(line)], lines


def test_rag_serve_for_a_minute_with_questions_reaches_nothing(tmp_path, essays_index):
    result, lines, hooked = watched([str(SESSION), "serve", str(essays_index.path), str(SERVE_SECONDS)], tmp_path, 600)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert "error" not in outcome, outcome
    assert outcome["seconds"] >= 60 and outcome["alive_at_end"]
    assert len(outcome["answers"]) == 3 and all("Kofman" in a or "essays" in a for a in outcome["answers"][:1])
    assert _loopback_seen(lines), "strace recorded no loopback connect: it was not watching"
    assert [line for line in lines if reaches_out(line)] == []
    assert hooked == []
    assert not (tmp_path / "home" / TELEMETRY_DIR).exists()


def test_rag_index_of_a_long_build_reaches_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    essays = sorted(CORPUS.glob("*.txt"))
    # Enough text for a build of over 30 s on one core (the session pins it).
    copies = int(os.environ.get("RAG_TEST_INDEX_COPIES", "10"))
    for i in range(copies):
        for essay in essays:
            (corpus / f"copy{i}-{essay.name}").write_text(
                f"Copy {i}\n\n{essay.read_text(encoding='utf-8')}", encoding="utf-8"
            )
    pin = (
        "import os, runpy, sys; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    result, lines, hooked = watched(
        ["-c", pin, str(SESSION), "index", str(corpus), str(tmp_path / "index")], tmp_path, 900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["returncode"] == 0 and outcome["built"], outcome
    assert outcome["seconds"] >= INDEX_AT_LEAST_S, (
        f"the build took {outcome['seconds']:.0f} s; set RAG_TEST_INDEX_COPIES above {copies} on this machine"
    )
    assert [line for line in lines if reaches_out(line)] == []
    assert hooked == []
    assert not (tmp_path / "home" / TELEMETRY_DIR).exists()


# ---------------------------------------------------------------- onnxruntime telemetry, fast


def test_onnxruntime_telemetry_is_off_even_if_the_caller_turned_it_on(tmp_path):
    """onnxruntime 1.29+ writes a device id under ~/.cache/Microsoft within a
    second of import and then looks up its collector; rag forces
    ORT_DISABLE_TELEMETRY=1 before any import of it, over a caller's "0"."""
    from rag.settings import cache_root

    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import os, sys, time\n"
        "from rag.embed.auto import default_embedder\n"
        "default_embedder().embed_query('warm up')\n"
        "assert 'onnxruntime' in sys.modules, 'the query did not run on onnxruntime'\n"
        "time.sleep(3)\n"
        "print(os.environ['ORT_DISABLE_TELEMETRY'])\n"
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "RAG_CACHE": str(cache_root()),
        "ORT_DISABLE_TELEMETRY": "0",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "1"
    assert not (home / TELEMETRY_DIR).exists(), sorted(p.name for p in (home / TELEMETRY_DIR).rglob("*"))


def test_installed_onnxruntime_has_no_telemetry_collector_compiled_in():
    """pyproject.toml keeps onnxruntime below 1.29, whose wheels hold no 1DS code."""
    import onnxruntime

    folder = Path(onnxruntime.__file__).parent / "capi"
    libraries = list(folder.glob("*.so*"))
    assert libraries
    for library in libraries:
        assert b"events.data.microsoft.com" not in library.read_bytes(), library
