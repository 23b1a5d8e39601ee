//! Bulk load (INSERT BULK + the BulkLoad message) of Arrow record batches.
//!
//! The input is pulled one record batch at a time, each converted and
//! checked against the target columns before any of its rows is sent. An
//! INSERT BULK is stored whole or not at all: a bad value or a failure after
//! some of its rows went out leaves its BulkLoad message unfinished (the
//! connection is then discarded), and the server stores nothing of it.

use super::bind::{date_checked, datetime2_at, time_at};
use super::connection::DriverConnection;
use super::errors::from_tiberius;
use crate::arrow::{CellReader, SQL_TYPE_METADATA_KEY};
use crate::error::{DriverError, ErrorKind};
use crate::params::{BoundParam, ParamValue, SqlType};
use crate::temporal::{split_micros, UNIX_EPOCH_DAYS_FROM_1900};
use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use std::borrow::Cow;
use tiberius::numeric::Numeric;
use tiberius::time::{DateTime, DateTimeOffset, SmallDateTime};
use tiberius::xml::XmlData;
use tiberius::{Client, ColumnData, SortOrder, SqlBulkCopyOption, SqlBulkCopyOptions, TokenRow, Uuid};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::compat::Compat;

/// A column of the target table as the load writes it.
pub(crate) struct Target {
    name: String,
    ty: SqlType,
    /// SQL Server describes a NOT NULL fixed-size column with a fixed-length type.
    not_null: bool,
    /// An identity column whose values the server assigns: the data's are not sent.
    skipped: bool,
}

/// Checks a table name before it is interpolated into SQL (identifiers
/// cannot be parameters): dot-separated parts, each a plain identifier or
/// `[bracketed]` with `]]` as the only escape.
pub(crate) fn check_table_name(table: &str) -> Result<(), DriverError> {
    let bad = || DriverError::programming(format!("'{table}' is not a valid table name for bulk_insert"));
    let mut rest = table;
    loop {
        if let Some(inner) = rest.strip_prefix('[') {
            let mut end = None;
            let mut chars = inner.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                if c == ']' {
                    if chars.peek().map(|(_, c)| *c) == Some(']') {
                        chars.next();
                    } else {
                        end = Some(i);
                        break;
                    }
                }
            }
            let end = end.ok_or_else(bad)?;
            if end == 0 || inner[..end].chars().any(char::is_control) {
                return Err(bad());
            }
            rest = &inner[end + 1..];
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let part = &rest[..end];
            let plain = |c: char| c.is_alphanumeric() || matches!(c, '_' | '@' | '#' | '$');
            if part.is_empty() || !part.chars().all(plain) {
                return Err(bad());
            }
            rest = &rest[end..];
        }
        match rest.strip_prefix('.') {
            Some(next) => rest = next,
            None if rest.is_empty() => return Ok(()),
            None => return Err(bad()),
        }
    }
}

fn quoted(column: &str) -> String {
    format!("[{}]", column.replace(']', "]]"))
}

/// The target columns of a load of `schema`'s columns (matched by name),
/// typed from the table's own metadata (`SELECT TOP 0`).
pub(crate) async fn targets<S>(
    connection: &mut DriverConnection<S>,
    table: &str,
    schema: &Schema,
) -> Result<Vec<Target>, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    check_table_name(table)?;
    let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
    if names.is_empty() {
        return Err(DriverError::programming("bulk_insert: the data has no columns"));
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].iter().any(|other| other.eq_ignore_ascii_case(name)) {
            return Err(DriverError::programming(format!("bulk_insert: column '{name}' appears twice")));
        }
    }
    let list: Vec<String> = names.iter().map(|n| quoted(n)).collect();
    let table_schema = connection.result_schema(&format!("SELECT TOP 0 {} FROM {table}", list.join(", "))).await?;
    if table_schema.fields().len() != names.len() {
        return Err(DriverError::internal("the table's metadata does not list the requested columns"));
    }
    table_schema
        .fields()
        .iter()
        .map(|field| {
            let sql_type = field.metadata().get(SQL_TYPE_METADATA_KEY).map_or("", String::as_str);
            let ty = SqlType::parse(sql_type).map_err(|_| {
                DriverError::not_supported(format!(
                    "bulk_insert cannot write column '{}' of type {sql_type}",
                    field.name()
                ))
            })?;
            Ok(Target { name: field.name().clone(), ty, not_null: !field.is_nullable(), skipped: false })
        })
        .collect()
}

/// The NULL of the variant tiberius encodes for `ty`.
fn null_of(ty: SqlType) -> ColumnData<'static> {
    match ty {
        SqlType::Bit => ColumnData::Bit(None),
        SqlType::TinyInt => ColumnData::U8(None),
        SqlType::SmallInt => ColumnData::I16(None),
        SqlType::Int => ColumnData::I32(None),
        SqlType::BigInt => ColumnData::I64(None),
        SqlType::Real => ColumnData::F32(None),
        SqlType::Float => ColumnData::F64(None),
        SqlType::Decimal { .. } | SqlType::Money | SqlType::SmallMoney => ColumnData::Numeric(None),
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::NChar(_) | SqlType::NVarChar(_) => ColumnData::String(None),
        SqlType::Xml => ColumnData::Xml(None),
        SqlType::Binary(_) | SqlType::VarBinary(_) => ColumnData::Binary(None),
        SqlType::Date => ColumnData::Date(None),
        SqlType::Time(_) => ColumnData::Time(None),
        SqlType::DateTime => ColumnData::DateTime(None),
        SqlType::SmallDateTime => ColumnData::SmallDateTime(None),
        SqlType::DateTime2(_) => ColumnData::DateTime2(None),
        SqlType::DateTimeOffset(_) => ColumnData::DateTimeOffset(None),
        SqlType::UniqueIdentifier => ColumnData::Guid(None),
    }
}

/// Microseconds of a day as datetime's 1/300 s ticks, rounded as SQL Server
/// rounds; a day's last half tick carries into the next day.
fn datetime_value(micros: i64) -> Result<DateTime, String> {
    let (days, micros_of_day) = split_micros(micros);
    let ticks = (micros_of_day * 3 + 5_000) / 10_000;
    let (days, ticks) = if ticks == 300 * 86_400 { (days + 1, 0) } else { (days, ticks) };
    let days = i32::try_from(days + crate::temporal::UNIX_EPOCH_DAYS_FROM_1900)
        .ok()
        .filter(|d| (-53_690..=2_958_463).contains(d))
        .ok_or("is outside datetime's range (1753-01-01 to 9999-12-31)")?;
    Ok(DateTime::new(days, ticks as u32))
}

/// Rounded to the minute as SQL Server does (29.998 s down, 29.999 s up).
fn smalldatetime_value(micros: i64) -> Result<SmallDateTime, String> {
    let (days, micros_of_day) = split_micros(micros);
    let minutes = (micros_of_day + 30_001_000) / 60_000_000;
    let (days, minutes) = if minutes == 1_440 { (days + 1, 0) } else { (days, minutes) };
    // Day 65,535 (u16::MAX) is 2079-06-06, the last day.
    let days = u16::try_from(days + UNIX_EPOCH_DAYS_FROM_1900)
        .map_err(|_| "is outside smalldatetime's range (1900-01-01 to 2079-06-06)")?;
    Ok(SmallDateTime::new(days, minutes as u16))
}

/// `value` as the variant tiberius encodes into a column of type `ty`,
/// converted only where no digit is lost (or rounded as the server rounds
/// into datetime and smalldatetime).
fn column_data(value: ParamValue, target: &Target) -> Result<ColumnData<'static>, String> {
    let ty = target.ty;
    if value == ParamValue::Null {
        if target.not_null {
            return Err("is NULL but the column does not allow NULLs".into());
        }
        return Ok(null_of(ty));
    }
    let value = BoundParam::forced(value, ty).map_err(|e| e.message)?.value;
    Ok(match (ty, value) {
        (SqlType::Bit, ParamValue::Bool(b)) => ColumnData::Bit(Some(b)),
        (SqlType::TinyInt, ParamValue::Int(v)) => ColumnData::U8(Some(v as u8)),
        (SqlType::SmallInt, ParamValue::Int(v)) => ColumnData::I16(Some(v as i16)),
        (SqlType::Int, ParamValue::Int(v)) => ColumnData::I32(Some(v as i32)),
        (SqlType::BigInt, ParamValue::Int(v)) => ColumnData::I64(Some(v)),
        (SqlType::Real, ParamValue::Float(f)) => ColumnData::F32(Some(f as f32)),
        (SqlType::Float, ParamValue::Float(f)) => ColumnData::F64(Some(f)),
        (SqlType::Decimal { .. } | SqlType::Money | SqlType::SmallMoney, ParamValue::Decimal { unscaled, scale }) => {
            ColumnData::Numeric(Some(Numeric::new_with_scale(unscaled, scale)))
        }
        (SqlType::Char(_) | SqlType::VarChar(_) | SqlType::NChar(_) | SqlType::NVarChar(_), ParamValue::String(s)) => {
            ColumnData::String(Some(Cow::Owned(s)))
        }
        (SqlType::Xml, ParamValue::String(s)) => ColumnData::Xml(Some(Cow::Owned(XmlData::new(s)))),
        (SqlType::Binary(_) | SqlType::VarBinary(_), ParamValue::Bytes(b)) => ColumnData::Binary(Some(Cow::Owned(b))),
        (SqlType::UniqueIdentifier, ParamValue::Uuid(bytes)) => ColumnData::Guid(Some(Uuid::from_bytes(bytes))),
        // 16 plain bytes are taken in RFC 4122 order, as arrow.uuid holds them.
        (SqlType::UniqueIdentifier, ParamValue::Bytes(bytes)) if bytes.len() == 16 => {
            ColumnData::Guid(Some(Uuid::from_slice(&bytes).map_err(|e| e.to_string())?))
        }
        (SqlType::Date, ParamValue::Date(days)) => ColumnData::Date(Some(date_checked(i64::from(days))?)),
        (SqlType::Time(scale), ParamValue::Time(nanos)) => ColumnData::Time(Some(time_at(nanos, scale)?)),
        (SqlType::DateTime2(scale), ParamValue::DateTime(micros)) => {
            ColumnData::DateTime2(Some(datetime2_at(micros, scale)?))
        }
        (SqlType::DateTime, ParamValue::DateTime(micros)) => ColumnData::DateTime(Some(datetime_value(micros)?)),
        (SqlType::SmallDateTime, ParamValue::DateTime(micros)) => {
            ColumnData::SmallDateTime(Some(smalldatetime_value(micros)?))
        }
        (SqlType::DateTimeOffset(scale), ParamValue::DateTimeOffset { utc_micros, offset_minutes }) => {
            ColumnData::DateTimeOffset(Some(DateTimeOffset::new(datetime2_at(utc_micros, scale)?, offset_minutes)))
        }
        // Formatted only here: this runs for every cell of a load.
        (_, other) => return Err(format!("cannot be written to a {} column (value {other:?})", ty.declaration())),
    })
}

fn cell_error(target: &Target, row: usize, why: String) -> DriverError {
    let kind = if why.contains("does not allow NULLs") { ErrorKind::Integrity } else { ErrorKind::Data };
    DriverError::new(kind, format!("bulk_insert: column '{}', row {row}: {why}", target.name))
}

/// One batch's cells, read as the targets' values.
struct BatchCells<'a> {
    readers: Vec<CellReader<'a>>,
    /// Row number of the batch's first row in the whole load, for errors.
    first_row: usize,
}

impl<'a> BatchCells<'a> {
    fn new(schema: &Schema, batch: &'a RecordBatch, first_row: usize) -> Result<Self, DriverError> {
        let readers = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, array)| CellReader::new(field, array))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DriverError::data(format!("bulk_insert: {}", e.0)))?;
        Ok(BatchCells { readers, first_row })
    }

    /// Row `row`'s values for the targets the load writes (skipped ones are left out).
    fn row(&self, row: usize, targets: &[Target]) -> Result<TokenRow<'static>, DriverError> {
        let mut values = TokenRow::with_capacity(targets.len());
        for (reader, target) in self.readers.iter().zip(targets) {
            if target.skipped {
                continue;
            }
            let value = reader.value(row).map_err(|e| cell_error(target, self.first_row + row, e.0))?;
            values.push(column_data(value, target).map_err(|why| cell_error(target, self.first_row + row, why))?);
        }
        Ok(values)
    }

    /// Converts every row once without keeping it: a bad value fails the
    /// load before any row of the batch is sent. Kept values would take tens
    /// of bytes per cell; the rows are converted again as they are sent.
    fn check(&self, rows: usize, targets: &[Target]) -> Result<(), DriverError> {
        (0..rows).try_for_each(|row| self.row(row, targets).map(drop))
    }
}

/// How a load is written: the INSERT BULK options, and how many rows go in one load.
#[derive(Debug, Clone, Default)]
pub struct BulkOptions {
    /// Rows per INSERT BULK (each its own statement, committed on its own
    /// outside a transaction); `None`: the whole input in one.
    pub batch_rows: Option<usize>,
    pub table_lock: bool,
    /// Identity values the data carries are stored (else the server assigns them).
    pub keep_identity: bool,
    /// NULLs stay NULL in columns with a default.
    pub keep_nulls: bool,
    pub check_constraints: bool,
    pub fire_triggers: bool,
    /// Columns the data is sorted on, each `true` when descending.
    pub order: Vec<(String, bool)>,
    /// The whole load in one transaction (or under a savepoint of the open one).
    pub atomic: bool,
}

impl BulkOptions {
    fn flags(&self) -> SqlBulkCopyOptions {
        let mut flags = SqlBulkCopyOptions::empty();
        for (on, flag) in [
            (self.table_lock, SqlBulkCopyOption::TableLock),
            (self.keep_identity, SqlBulkCopyOption::KeepIdentity),
            (self.keep_nulls, SqlBulkCopyOption::KeepNulls),
            (self.check_constraints, SqlBulkCopyOption::CheckConstraints),
            (self.fire_triggers, SqlBulkCopyOption::FireTriggers),
        ] {
            if on {
                flags |= flag;
            }
        }
        flags
    }
}

/// The record batches of a load, pulled one at a time.
pub type BatchSource = Box<dyn Iterator<Item = Result<RecordBatch, DriverError>> + Send>;

/// Told the rows sent so far, before each next batch is pulled.
pub type ProgressSink = Box<dyn FnMut(u64) -> Result<(), DriverError> + Send>;

/// What a load reads: the columns, and batches pulled as the load goes, so
/// memory holds one batch whatever the input's size.
pub struct BulkInput {
    pub schema: SchemaRef,
    pub batches: BatchSource,
    pub progress: Option<ProgressSink>,
}

impl BulkInput {
    /// Reports `rows_sent` and pulls the next batch, on a blocking thread:
    /// the producer may wait for its own source (another query's stream, a
    /// Python iterator).
    async fn next(&mut self, rows_sent: u64) -> Option<Result<RecordBatch, DriverError>> {
        let mut batches = std::mem::replace(&mut self.batches, Box::new(std::iter::empty()));
        let mut progress = self.progress.take();
        let pulled = tokio::task::spawn_blocking(move || {
            let reported = progress.as_mut().map_or(Ok(()), |report| report(rows_sent));
            let next = match reported {
                Ok(()) => batches.next(),
                Err(error) => Some(Err(error)),
            };
            (batches, progress, next)
        })
        .await;
        match pulled {
            Ok((batches, progress, next)) => {
                self.batches = batches;
                self.progress = progress;
                next
            }
            Err(e) => Some(Err(DriverError::internal(format!("reading the bulk input failed: {e}")))),
        }
    }
}

/// Drops the targets the load does not write: identity columns, unless
/// their values are kept (tiberius leaves them out of the INSERT BULK then).
pub(crate) async fn without_identity<S>(
    client: &mut Client<Compat<S>>,
    table: &str,
    targets: Vec<Target>,
) -> Result<Vec<Target>, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let names: Vec<String> = targets.iter().map(|t| quoted(&t.name)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let metadata = client.column_metadata(table, &names).await.map_err(from_tiberius)?;
    let identity: Vec<String> =
        metadata.iter().filter(|c| c.base.is_identity()).map(|c| c.col_name.to_string()).collect();
    Ok(targets
        .into_iter()
        .map(|mut t| {
            t.skipped = identity.iter().any(|name| name.eq_ignore_ascii_case(&t.name));
            t
        })
        .collect())
}

/// How far a load got.
pub(crate) struct Loaded {
    /// Rows the server stored (the INSERT BULKs finished so far).
    pub stored: u64,
    /// Whether a BulkLoad message was left unfinished: the connection is
    /// out of step, and the server stores nothing of that INSERT BULK.
    pub abandoned: bool,
}

/// Loads `input` into `table` in INSERT BULKs of at most
/// `options.batch_rows` rows. Each batch is converted and checked before
/// any of its rows is sent; a bad value fails the INSERT BULK it falls in.
pub(crate) async fn load<S>(
    client: &mut Client<Compat<S>>,
    table: &str,
    targets: &[Target],
    input: &mut BulkInput,
    options: &BulkOptions,
    loaded: &mut Loaded,
) -> Result<(), DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let names: Vec<&str> = targets.iter().filter(|t| !t.skipped).map(|t| t.name.as_str()).collect();
    // Order hints name columns of the load, checked before they are interpolated.
    let mut hinted = Vec::with_capacity(options.order.len());
    for (name, descending) in &options.order {
        if !targets.iter().any(|t| !t.skipped && t.name.eq_ignore_ascii_case(name)) {
            return Err(DriverError::programming(format!(
                "bulk_insert: order names '{name}', not a column of the load"
            )));
        }
        hinted.push((quoted(name), if *descending { SortOrder::Descending } else { SortOrder::Ascending }));
    }
    let hints: Vec<(&str, SortOrder)> = hinted.iter().map(|(name, order)| (name.as_str(), *order)).collect();
    let per_load = options.batch_rows.unwrap_or(usize::MAX);
    let schema = input.schema.clone();
    let mut request = None;
    let mut in_load = 0;
    let mut sent = 0usize;
    while let Some(batch) = input.next(sent as u64).await {
        let batch = batch?;
        let cells = BatchCells::new(&schema, &batch, sent)?;
        // Rows going into an INSERT BULK that has sent nothing yet are checked
        // first, so a bad value fails it before anything is on the wire.
        if request.is_none() || in_load + batch.num_rows() > per_load {
            cells.check(batch.num_rows(), targets)?;
        }
        for row in 0..batch.num_rows() {
            let values = cells.row(row, targets)?;
            if request.is_none() {
                request = Some(
                    client
                        .bulk_insert_with_options(table, &names, options.flags(), &hints)
                        .await
                        .map_err(from_tiberius)?,
                );
                // From here until finalize, a failure leaves the BulkLoad message unfinished.
                loaded.abandoned = true;
            }
            let open = request.as_mut().expect("opened above");
            open.send(values).await.map_err(from_tiberius)?;
            in_load += 1;
            sent += 1;
            if in_load == per_load {
                let done = request.take().expect("opened above").finalize().await;
                loaded.abandoned = false;
                loaded.stored += done.map_err(from_tiberius)?.total();
                in_load = 0;
            }
        }
    }
    if let Some(open) = request.take() {
        let done = open.finalize().await;
        loaded.abandoned = false;
        loaded.stored += done.map_err(from_tiberius)?.total();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temporal::{days_from_civil, MICROS_PER_DAY};

    #[test]
    fn table_names_are_checked_before_interpolation() {
        for good in ["t", "dbo.t", "#tmp", "[my table]", "[a]]b].dbo.[c]", "db.dbo.t_1"] {
            assert!(check_table_name(good).is_ok(), "{good}");
        }
        for bad in ["", "t; DROP TABLE x", "t--", "[t", "t.", ".t", "a b", "[]", "t)"] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn datetime_rounds_to_ticks_as_sql_server() {
        // 00:00:00.001 -> .000, .002 -> .003, 23:59:59.999 -> next day.
        assert_eq!(datetime_value(1_000).unwrap(), DateTime::new(25_567, 0));
        assert_eq!(datetime_value(2_000).unwrap(), DateTime::new(25_567, 1));
        assert_eq!(datetime_value(86_400_000_000 - 1_000).unwrap(), DateTime::new(25_568, 0));
        assert!(datetime_value(-220_000_000_000_000_000).is_err());
    }

    #[test]
    fn smalldatetime_rounds_to_the_minute() {
        // SQL Server's documented rule: 29.998 s or less rounds down, 29.999 s or more up.
        assert_eq!(smalldatetime_value(29_998_000).unwrap(), SmallDateTime::new(25_567, 0));
        assert_eq!(smalldatetime_value(29_999_000).unwrap(), SmallDateTime::new(25_567, 1));
        assert_eq!(smalldatetime_value(30_000_000).unwrap(), SmallDateTime::new(25_567, 1));
    }

    #[test]
    fn smalldatetime_holds_its_last_day() {
        // Found by tests/client/test_roundtrip_property.py: 2079-06-06 was refused as out of range.
        let last_day = days_from_civil(2079, 6, 6) * MICROS_PER_DAY;
        let last_minute = last_day + 1_439 * 60_000_000;
        assert_eq!(smalldatetime_value(last_minute).unwrap(), SmallDateTime::new(65_535, 1_439));
        assert!(smalldatetime_value(last_minute + 29_999_000).is_err(), "rounds into 2079-06-07");
        assert!(smalldatetime_value(last_day + MICROS_PER_DAY).is_err());
    }

    #[test]
    fn values_are_checked_against_the_column() {
        let target = |ty| Target { name: "c".into(), ty, not_null: false, skipped: false };
        assert!(column_data(ParamValue::Int(256), &target(SqlType::TinyInt)).is_err());
        assert!(column_data(ParamValue::String("x".into()), &target(SqlType::Int)).is_err());
        let money = column_data(ParamValue::Decimal { unscaled: 15, scale: 1 }, &target(SqlType::Money)).unwrap();
        assert_eq!(money, ColumnData::Numeric(Some(Numeric::new_with_scale(15000, 4))));
        let not_null = Target { name: "c".into(), ty: SqlType::Int, not_null: true, skipped: false };
        assert!(column_data(ParamValue::Null, &not_null).unwrap_err().contains("NULL"));
    }
}
