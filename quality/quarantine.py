"""The quarantine checks: one per rule of dbt_project/macros/quarantine_rules.sql, `quarantine.<rule>`.

dbt evaluates the rules on the raw JSON and lists the users breaking them in ops.quarantined_users (they stay in
raw.users, out of incoming_users and the marts). The gate turns that verdict on the batch into named results:
`fail` with failing_rows = the batch's users breaking the rule, `pass` (0) for the rules the batch keeps. Source
`quarantine`: the verdict is dbt's quarantined_users model, read here in one query, not evaluated again.
"""

from __future__ import annotations

from quality.batch import Batch
from quality.results import FAIL, PASS, CheckResult
from quality.suite import QUARANTINE, QUARANTINE_RULES
from userpipe.errors import one_line

OBSERVED_MAX_CHARS = 200


def quarantine_results(batch: Batch) -> list[CheckResult]:
    """A result per rule (in rule order), plus a failing one for any rule dbt used that this list lacks."""
    found = []
    for rule in (*QUARANTINE_RULES, *sorted(set(batch.quarantine) - set(QUARANTINE_RULES))):
        users, user, detail = batch.quarantine.get(rule, (0, "", ""))
        observed = (f"{users} of the batch's users quarantined, e.g. {user} ({detail})" if users
                    else "no user of the batch breaks it")
        found.append(CheckResult(f"{QUARANTINE}.{rule}", QUARANTINE, FAIL if users else PASS, failing_rows=users,
                                 observed_value=one_line(observed, OBSERVED_MAX_CHARS)))
    return found
