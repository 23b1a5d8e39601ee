"""fastmssql: a columnar asyncio SQL Server client with a Rust core.

Everything public lives in the native module ``fastmssql._core``; this package
re-exports it. The API is documented in the type stub (``__init__.pyi``).
"""

from importlib.metadata import version as _distribution_version

from fastmssql._core import (
    Connection,
    DatabaseError,
    DataError,
    EncryptionLevel,
    Error,
    FastRow,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    Parameter,
    PoolConfig,
    ProgrammingError,
    QueryResult,
    ResultStream,
    SslConfig,
    Warning,
)

__version__: str = _distribution_version("fastmssql")

__all__ = [
    "Connection",
    "DataError",
    "DatabaseError",
    "EncryptionLevel",
    "Error",
    "FastRow",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "Parameter",
    "PoolConfig",
    "ProgrammingError",
    "QueryResult",
    "ResultStream",
    "SslConfig",
    "Warning",
    "__version__",
]
