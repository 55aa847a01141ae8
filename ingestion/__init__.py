"""Ingestion layer: the dlt source for randomuser-compatible APIs and the pipeline landing users in `raw.users`.

Import `ingestion.pipeline.ingest` for one batch; the source itself is `ingestion.randomuser.source.randomuser_source`.
"""
