"""Verdicts: a case passes only when an acceptable behaviour was observed."""

from __future__ import annotations

import pytest

from conformance.model.behaviours import (
    AcceptedWithout,
    CloseFrame,
    Echoed,
    Expectation,
    HandshakeAccepted,
    HttpAnswer,
    HttpRefusal,
    TcpClose,
    expect,
)
from conformance.model.observed import CloseInfo, HttpResponse, Observed, TransportEnd
from conformance.model.verdict import Level, Outcome, judge
from conformance.model.violations import Violation


def response(status: int, *headers: tuple[bytes, bytes]) -> HttpResponse:
    return HttpResponse(status, b"Reason", b"HTTP/1.1", headers)


FAIL_THE_CONNECTION = expect(CloseFrame(frozenset({1002})), TcpClose())


class TestAcceptableSets:
    def test_close_1002_or_tcp_close_both_pass(self) -> None:
        close = Observed(close=CloseInfo(1002), transport=TransportEnd.EOF)
        drop = Observed(transport=TransportEnd.RESET)
        assert judge(FAIL_THE_CONNECTION, close, Level.MUST).outcome is Outcome.PASS
        assert judge(FAIL_THE_CONNECTION, drop, Level.MUST).outcome is Outcome.PASS

    def test_wrong_close_code_fails_must_and_warns_should(self) -> None:
        seen = Observed(close=CloseInfo(1000), transport=TransportEnd.EOF)
        assert judge(FAIL_THE_CONNECTION, seen, Level.MUST).outcome is Outcome.FAIL
        assert judge(FAIL_THE_CONNECTION, seen, Level.SHOULD).outcome is Outcome.WARN
        assert judge(FAIL_THE_CONNECTION, seen, Level.MAY).outcome is Outcome.INFO

    def test_describe_lists_every_alternative(self) -> None:
        text = FAIL_THE_CONNECTION.describe()
        assert text.startswith("one of: ")
        assert "1002" in text and "TCP" in text

    def test_empty_expectation_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            Expectation(())


class TestNeverPassOnSilence:
    """A timeout, a refused or dropped connection is never a pass."""

    @pytest.mark.parametrize("level", list(Level))
    def test_timeout_with_nothing_seen_is_error(self, level: Level) -> None:
        seen = Observed(timed_out=True)
        verdict = judge(expect(HttpRefusal()), seen, level)
        assert verdict.outcome is Outcome.ERROR
        assert "deadline" in verdict.actual

    def test_eof_without_response_fails_refusal(self) -> None:
        seen = Observed(transport=TransportEnd.EOF)
        assert judge(expect(HttpRefusal()), seen, Level.MUST).outcome is Outcome.FAIL

    def test_still_open_is_not_a_tcp_close(self) -> None:
        assert not TcpClose().matches(Observed(transport=TransportEnd.OPEN))
        assert not TcpClose().matches(Observed(transport=TransportEnd.CLOSED_BY_US))


class TestHttpBehaviours:
    def test_refusal_statuses(self) -> None:
        assert HttpRefusal().matches(Observed(response=response(400)))
        assert HttpRefusal().matches(Observed(response=response(503)))
        assert not HttpRefusal().matches(Observed(response=response(101)))
        assert not HttpRefusal().matches(Observed(response=response(200)))
        assert not HttpRefusal().matches(Observed(response=response(302)))

    def test_refusal_with_required_header(self) -> None:
        rule = HttpRefusal(required_header=b"sec-websocket-version")
        assert rule.matches(Observed(response=response(426, (b"Sec-WebSocket-Version", b"13"))))
        assert not rule.matches(Observed(response=response(426)))
        assert "sec-websocket-version" in rule.describe()

    def test_accepted_needs_101_and_no_violation(self) -> None:
        ok = Observed(response=response(101))
        bad = Observed(response=response(101), violations=[Violation("r", "wrong accept")])
        assert HandshakeAccepted().matches(ok)
        assert not HandshakeAccepted().matches(bad)
        assert not HandshakeAccepted().matches(Observed(response=response(200)))

    def test_accepted_without_judges_only_its_rules(self) -> None:
        seen = Observed(response=response(101), violations=[Violation("other", "x")])
        assert AcceptedWithout(frozenset({"mine"}), "x").matches(seen)
        assert not AcceptedWithout(frozenset({"other"}), "x").matches(seen)
        assert not AcceptedWithout(frozenset({"mine"}), "x").matches(Observed())

    def test_plain_http_answer(self) -> None:
        assert HttpAnswer().matches(Observed(response=response(200)))
        assert not HttpAnswer().matches(Observed(response=response(101)))
        assert not HttpAnswer().matches(Observed())

    def test_failure_cites_broken_requirements(self) -> None:
        seen = Observed(response=response(101), violations=[Violation("rfc-x", "bad")])
        verdict = judge(expect(HttpRefusal()), seen, Level.MUST)
        assert verdict.outcome is Outcome.FAIL and verdict.requirements == ("rfc-x",)
        assert "HTTP 101" in verdict.actual and "[rfc-x]" in verdict.actual


class TestHttpResponse:
    def test_values_and_tokens(self) -> None:
        r = response(101, (b"Connection", b"keep-alive, Upgrade"), (b"connection", b" x ,"))
        assert r.values(b"CONNECTION") == [b"keep-alive, Upgrade", b" x ,"]
        assert r.tokens(b"connection") == [b"keep-alive", b"upgrade", b"x"]

    def test_close_info_describe(self) -> None:
        assert "no status code" in CloseInfo(None).describe()
        assert "'bye'" in CloseInfo(1000, b"bye").describe()


class TestEchoesCutShortByTheDeadline:
    """A slow server breaks no rule: a correct run of echoes cut short is ERROR, not FAIL."""

    SENT = ((1, b"a"), (1, b"b"), (1, b"c"))

    def seen(self, *messages: tuple[int, bytes], **kwargs: object) -> Observed:
        observed = Observed(upgraded=True, responsive=True, timed_out=True, **kwargs)  # type: ignore[arg-type]
        observed.messages.extend(messages)
        return observed

    def test_correct_echoes_cut_short_are_an_error(self) -> None:
        verdict = judge(expect(Echoed(self.SENT)), self.seen(*self.SENT[:2]), Level.MUST)
        assert verdict.outcome is Outcome.ERROR and "--timeout" in verdict.actual

    def test_a_wrong_echo_before_the_deadline_fails(self) -> None:
        observed = self.seen((1, b"a"), (1, b"x"))
        assert judge(expect(Echoed(self.SENT)), observed, Level.MUST).outcome is Outcome.FAIL

    def test_a_close_before_every_echo_fails(self) -> None:
        observed = self.seen((1, b"a"), close=CloseInfo(1011))
        assert judge(expect(Echoed(self.SENT)), observed, Level.MUST).outcome is Outcome.FAIL

    def test_no_deadline_no_error(self) -> None:
        observed = self.seen((1, b"a"))
        observed.timed_out = False
        assert judge(expect(Echoed(self.SENT)), observed, Level.MUST).outcome is Outcome.FAIL
