"""The quality gate: dbt tests plus Great Expectations suites on each landed batch, results in ops.check_results.

`quality.gate.run_checks(...)` is the entry point. Importing this package is cheap: great_expectations and
pandas are imported only inside the functions that validate.
"""
