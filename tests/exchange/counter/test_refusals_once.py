"""Issue 13: a refused QR left in front of a counter's camera is logged once, not once per frame."""

from __future__ import annotations

from tests.exchange.counter.flow import bearer, citizen_token, clerk_token, new_qr, usage
from tests.fixtures.exchange import ExchangeEnv


def test_repeated_refusals_of_one_code_are_logged_once(exchange: ExchangeEnv) -> None:
    citizen, clerk = citizen_token(exchange), clerk_token(exchange)

    def scan(text: str, who: str = clerk) -> int:
        resp = exchange.client.post("/api/v1/counter/scan", headers=bearer(who),
                                    json={"matter": "hpf_loan", "qr_text": text})
        return int(resp.status_code)

    def refusals() -> list[dict[str, object]]:
        return [e for e in usage(exchange, citizen) if e["action"] == "scan_refused"]

    before = len(refusals())
    used = new_qr(exchange, citizen)
    assert scan(used) == 200
    for _ in range(6):  # the same spent code, again and again
        assert scan(used) == 409
    assert len(refusals()) == before + 1
    entry = refusals()[0]
    assert entry["subject"]["reason"] == "QR_USED" and len(entry["subject"]["code"]) == 16  # type: ignore[index]
    assert "clerk01" not in str(entry["actor"])  # the citizen reads the clerk's name, not a username

    other = new_qr(exchange, citizen)  # another spent code is another refusal
    assert scan(other) == 200 and scan(other) == 409 and scan(other) == 409
    assert len(refusals()) == before + 2

    second_counter = clerk_token(exchange, "clerk02")  # the same code at another counter is news: logged
    assert scan(other, second_counter) == 409
    assert len(refusals()) == before + 3
