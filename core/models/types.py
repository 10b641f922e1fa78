"""Column types shared by the models."""

from sqlalchemy import BigInteger, Integer

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigIntPk = BigInteger().with_variant(Integer, "sqlite")
