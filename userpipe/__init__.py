"""userpipe: a real-time synthetic-user ELT pipeline (randomuser API -> dlt -> PostgreSQL -> dbt -> GX)."""

__version__ = "0.1.0"
