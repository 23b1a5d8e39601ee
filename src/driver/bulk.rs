//! Bulk load (INSERT BULK + the BulkLoad message) of Arrow record batches.
//!
//! Every cell is converted and checked against the target column before the
//! first row is sent, so bad input fails with nothing written; the server
//! then stores the whole load or, on its own error, none of it.

use super::bind::{date_checked, datetime2_at, time_at};
use super::connection::DriverConnection;
use super::errors::from_tiberius;
use crate::arrow::{CellReader, SQL_TYPE_METADATA_KEY};
use crate::error::{DriverError, ErrorKind};
use crate::params::{BoundParam, ParamValue, SqlType};
use crate::temporal::{split_micros, UNIX_EPOCH_DAYS_FROM_1900};
use arrow_array::RecordBatch;
use arrow_schema::Schema;
use std::borrow::Cow;
use tiberius::numeric::Numeric;
use tiberius::time::{DateTime, DateTimeOffset, SmallDateTime};
use tiberius::xml::XmlData;
use tiberius::{Client, ColumnData, SqlBulkCopyOption, TokenRow, Uuid};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::compat::Compat;

/// A column of the target table as the load writes it.
pub(crate) struct Target {
    name: String,
    ty: SqlType,
    /// SQL Server describes a NOT NULL fixed-size column with a fixed-length type.
    not_null: bool,
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
            Ok(Target { name: field.name().clone(), ty, not_null: !field.is_nullable() })
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

/// Rounded to the minute as SQL Server does (29.999 s down, 30 s up).
fn smalldatetime_value(micros: i64) -> Result<SmallDateTime, String> {
    let (days, micros_of_day) = split_micros(micros);
    let minutes = (micros_of_day + 30_000_000) / 60_000_000;
    let (days, minutes) = if minutes == 1_440 { (days + 1, 0) } else { (days, minutes) };
    let days = u16::try_from(days + UNIX_EPOCH_DAYS_FROM_1900)
        .ok()
        .filter(|d| *d <= 65_378)
        .ok_or("is outside smalldatetime's range (1900-01-01 to 2079-06-06)")?;
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

/// The rows of one batch as the targets' values; `first_row` numbers them
/// in errors.
fn batch_rows(
    schema: &Schema,
    batch: &RecordBatch,
    targets: &[Target],
    first_row: usize,
) -> Result<Vec<Vec<ColumnData<'static>>>, DriverError> {
    let readers = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, array)| CellReader::new(field, array))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DriverError::data(format!("bulk_insert: {}", e.0)))?;
    (0..batch.num_rows())
        .map(|row| {
            readers
                .iter()
                .zip(targets)
                .map(|(reader, target)| {
                    let value = reader.value(row).map_err(|e| cell_error(target, first_row + row, e.0))?;
                    column_data(value, target).map_err(|why| cell_error(target, first_row + row, why))
                })
                .collect()
        })
        .collect()
}

/// Loads `batches` (all of `schema`) into `table`, matching columns by
/// name; returns the rows the server stored.
pub(crate) async fn load<S>(
    client: &mut Client<Compat<S>>,
    table: &str,
    schema: &Schema,
    targets: &[Target],
    batches: &[RecordBatch],
) -> Result<u64, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    // Every cell is checked before anything is sent: bad input writes nothing.
    let mut first_row = 0;
    for batch in batches {
        batch_rows(schema, batch, targets, first_row)?;
        first_row += batch.num_rows();
    }
    if first_row == 0 {
        return Ok(0);
    }

    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    // The data decides the columns: an identity column it carries keeps its values.
    let mut request = client
        .bulk_insert_with_options(table, &names, SqlBulkCopyOption::KeepIdentity.into(), &[])
        .await
        .map_err(from_tiberius)?;
    // A failure from here on leaves a BulkLoad message unfinished: the
    // connection is abandoned, and the server then stores nothing.
    let abandoned = |e: DriverError| DriverError::operational(format!("bulk load abandoned: {}", e.message));
    let mut first_row = 0;
    for batch in batches {
        // One batch converted at a time keeps memory bounded by the batch.
        for values in batch_rows(schema, batch, targets, first_row).map_err(abandoned)? {
            let mut row = TokenRow::with_capacity(values.len());
            for value in values {
                row.push(value);
            }
            request.send(row).await.map_err(|e| abandoned(from_tiberius(e)))?;
        }
        first_row += batch.num_rows();
    }
    let result = request.finalize().await.map_err(from_tiberius)?;
    Ok(result.total())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(smalldatetime_value(29_999_000).unwrap(), SmallDateTime::new(25_567, 0));
        assert_eq!(smalldatetime_value(30_000_000).unwrap(), SmallDateTime::new(25_567, 1));
    }

    #[test]
    fn values_are_checked_against_the_column() {
        let target = |ty| Target { name: "c".into(), ty, not_null: false };
        assert!(column_data(ParamValue::Int(256), &target(SqlType::TinyInt)).is_err());
        assert!(column_data(ParamValue::String("x".into()), &target(SqlType::Int)).is_err());
        let money = column_data(ParamValue::Decimal { unscaled: 15, scale: 1 }, &target(SqlType::Money)).unwrap();
        assert_eq!(money, ColumnData::Numeric(Some(Numeric::new_with_scale(15000, 4))));
        let not_null = Target { name: "c".into(), ty: SqlType::Int, not_null: true };
        assert!(column_data(ParamValue::Null, &not_null).unwrap_err().contains("NULL"));
    }
}
