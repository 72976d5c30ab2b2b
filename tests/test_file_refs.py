"""Issue 24, point 1: a file reference in a request body (a URL of any
scheme, or a path the server never issued) is refused with a 4xx before
Gradio's pre-processing, for every event the page registers and every route
that runs one, and nothing tries to leave the machine.

Each server runs inside a network namespace with loopback only
(tests/netguard/loopback_only.py) under strace -f (every connect, sendto and
sendmsg, native code included) and the Python hook; the probe itself is
tests/netguard/file_ref_probe.py. The control runs the same server and
probes with the body checks switched off in that process: Gradio then looks
the name up and connects to the address, and strace shows it, so the
guarded runs could fail.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.test_no_outbound import NETGUARD, reaches_out, watched

pytestmark = pytest.mark.slow

PROBE = NETGUARD / "file_ref_probe.py"


def run_probe(tmp_path, index, mode: str, *options: str):
    # The control runs under strace alone: the Python hook would refuse the lookup before glibc made it.
    result, lines, hooked = watched([str(PROBE), str(index), mode, *options], tmp_path, 600, hook_on=mode != "control")
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert "error" not in outcome, outcome
    return outcome, [line for line in lines if reaches_out(line)], hooked


@pytest.mark.parametrize("options", [(), ("--read-only",)], ids=["adding", "read-only"])
def test_no_event_on_any_route_takes_a_url_or_a_path_never_uploaded(tmp_path, essays_index, options):
    outcome, outbound, hooked = run_probe(tmp_path, essays_index.path, "guarded", *options)
    results = outcome["results"]
    events = {r["fn"] for r in results if r["fn"] is not None}
    assert len(events) == outcome["events"] >= (13 if not options else 10), events
    assert {r["route"].split("/")[0] for r in results} >= {"queue", "run", "call", "api", "component_server"}
    wrong = [r for r in results if not 400 <= r["status"] < 500]
    assert wrong == [], wrong[:5]
    # Refused by rag's gate, not by Gradio (whose 4xx would come after pre-processing).
    assert all("detail" in r["text"] for r in results), [r for r in results if "detail" not in r["text"]][:3]
    assert outcome["alive"]
    assert outbound == [] and hooked == []


def test_control_without_the_body_check_the_server_fetches_and_strace_sees_it(tmp_path, essays_index):
    outcome, outbound, _ = run_probe(tmp_path, essays_index.path, "control")
    assert outcome["alive"]
    # The name's DNS query (to the resolver, port 53) or the public address's connect().
    assert outbound, "the control saw no outbound attempt: the guarded runs could not fail"
    assert any("htons(53)" in line or "93.184.215.14" in line for line in outbound), outbound[:5]
    print(len(outbound), "outbound attempts in the control, e.g.", outbound[0], file=sys.stderr)
