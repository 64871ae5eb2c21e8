"""Push signatures and batches, sans I/O."""

from __future__ import annotations

import pytest

from chatserver.core.model import ValidationError
from chatserver.orders import push


def test_a_signature_verifies_only_the_exact_body_with_the_right_secret() -> None:
    body = b'{"orders": []}'
    header = push.sign("s3cret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert push.verify("s3cret", body, header)
    assert push.verify("s3cret", body, header.upper().replace("SHA256=", "sha256="))
    assert not push.verify("s3cret", body + b" ", header)
    assert not push.verify("other", body, header)
    assert not push.verify("s3cret", body, header[7:])  # no scheme
    assert not push.verify("", body, push.sign("", body))  # no secret: nothing verifies


def test_a_batch_is_checked_whole_and_names_the_bad_record() -> None:
    good = {"id": "c-1", "updated_at": 1}
    customers, orders = push.parse_batch({"customers": [good]})
    assert [c.id for c in customers] == ["c-1"] and orders == []
    with pytest.raises(ValidationError, match=r"orders\[1\]: number is required"):
        push.parse_batch({"orders": [
            {"id": "o1", "number": "1", "customer_id": "c", "placed_at": 1, "updated_at": 1,
             "status": "paid"},
            {"id": "o2", "customer_id": "c", "placed_at": 1, "updated_at": 1, "status": "paid"},
        ]})  # fmt: skip
    with pytest.raises(ValidationError, match="must be lists"):
        push.parse_batch({"orders": {"id": "o1"}})
    with pytest.raises(ValidationError, match="at most"):
        push.parse_batch({"customers": [good] * (push.MAX_RECORDS + 1)})
