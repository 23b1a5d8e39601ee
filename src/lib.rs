//! fastmssql: columnar asyncio SQL Server client (Rust core).
