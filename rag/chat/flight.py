"""Answers in flight, so that Stop and Clear always leave the page in one clean state.

Gradio's own ``cancels`` stops an answer on the server, but what the answer
already sent still reaches the browser after Stop's output, and the queue
sends an event's last output once more when the event ends: a stopped turn
was left half drawn, Stop enabled and Ask disabled (issue 25). So nothing is
cancelled here. Stop and Clear mark the session's answers in flight; an
answer asks, under the same lock, whether it may still hand the page its
final view. Exactly one of the two wins:

- the answer was delivered first: Stop shows that same answer (the two
  outputs are the same page, whatever order they arrive in);
- the stop came first: the answer is dropped, and its own last output is
  the stopped page too, so the queue's repeat of it changes nothing.

An answer takes tens of milliseconds of work once it runs (the page no
longer paces pieces on the server), so a stopped answer ends at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

ASKING, DELIVERED, STOPPED, CLEARED = "asking", "delivered", "stopped", "cleared"
SESSIONS_KEPT = 1000  # sessions with an answer in flight at once; more than the queue ever holds


@dataclass(eq=False)
class Flight:
    """One answer being made for one session."""

    session: str
    state: str = ASKING
    turns: tuple = ()  # the conversation once delivered, for a Stop that came too late
    cleared_after: bool = False  # Clear came after delivery: the answer's last output is the empty page


class Flights:
    """Every session's answers in flight, and the one lock that orders them against Stop and Clear."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: OrderedDict[str, list[Flight]] = OrderedDict()

    def begin(self, session: str | None) -> Flight:
        flight = Flight(session or "")
        with self._lock:
            self._live.setdefault(flight.session, []).append(flight)
            self._live.move_to_end(flight.session)
            while len(self._live) > SESSIONS_KEPT:
                self._live.popitem(last=False)
        return flight

    def state(self, flight: Flight) -> str:
        with self._lock:
            return flight.state

    def deliver(self, flight: Flight, turns: tuple) -> bool:
        """Whether ``flight`` may show its answer: True once, unless Stop or Clear came first."""
        with self._lock:
            if flight.state != ASKING:
                return False
            flight.state, flight.turns = DELIVERED, turns
            return True

    def finish(self, flight: Flight) -> bool:
        """The answer has nothing more to send. True when a Clear came after its delivery, so
        that its last output must be the empty page."""
        with self._lock:
            live = self._live.get(flight.session, [])
            if flight in live:
                live.remove(flight)
            if not live:
                self._live.pop(flight.session, None)
            return flight.cleared_after

    def stop(self, session: str | None) -> tuple[str, tuple]:
        """Stop the session's answers not yet delivered. ``(STOPPED, ())`` when one was;
        ``(DELIVERED, turns)`` when an answer got there first; ``("", ())`` when none was in flight."""
        with self._lock:
            live = self._live.get(session or "", [])
            outcome, turns = "", ()
            for flight in live:
                if flight.state == ASKING:
                    flight.state, outcome = STOPPED, STOPPED
                elif flight.state == DELIVERED and outcome != STOPPED:
                    outcome, turns = DELIVERED, flight.turns
            return outcome, turns

    def clear(self, session: str | None) -> None:
        """Clear: no answer in flight may draw on the page after the empty one."""
        with self._lock:
            for flight in self._live.get(session or "", []):
                if flight.state == ASKING:
                    flight.state = CLEARED
                elif flight.state == DELIVERED:
                    flight.cleared_after = True
