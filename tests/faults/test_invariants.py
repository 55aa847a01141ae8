"""The fault suite's invariants hold after a clean batch and name what broke when one does not."""

from __future__ import annotations

import psycopg
import pytest

from tests.faults.conftest import userpipe
from tests.faults.invariants import assert_consistent, served_uuids


def test_a_clean_batch_is_consistent_and_a_lost_or_extra_user_is_named(database_url: str) -> None:
    assert userpipe("ingest", "-n", "30", "--seed", "inv").returncode == 0
    assert userpipe("transform").returncode == 0
    served = served_uuids("inv", 30)
    assert len(served) == 30
    assert_consistent(database_url, served)

    with pytest.raises(AssertionError, match="1 served users never landed"):
        assert_consistent(database_url, served | {"not-a-served-uuid"})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("delete from public.incoming_users where user_id = (select min(user_id) "
                     "from public.incoming_users)")
    with pytest.raises(AssertionError, match="1 missing"):
        assert_consistent(database_url, served)
