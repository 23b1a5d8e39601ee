//! uniqueidentifier columns as canonical text, for consumers without a
//! uuid type (polars drops the `arrow.uuid` extension and would show bytes).

use super::{ResultSet, UUID_EXTENSION_NAME};
use crate::types::uuid_text;
use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use std::sync::Arc;

fn is_uuid(field: &Field) -> bool {
    field.metadata().get("ARROW:extension:name").is_some_and(|name| name == UUID_EXTENSION_NAME)
}

/// The result with every uniqueidentifier column as lowercase 8-4-4-4-12
/// strings (its `mssql.type` kept); other columns share their buffers.
pub fn uuids_as_text(set: &ResultSet) -> Result<ResultSet, ArrowError> {
    if !set.schema.fields().iter().any(|f| is_uuid(f)) {
        return Ok(set.clone());
    }
    let fields: Vec<Field> = set
        .schema
        .fields()
        .iter()
        .map(|field| {
            if !is_uuid(field) {
                return field.as_ref().clone();
            }
            let mut metadata = field.metadata().clone();
            metadata.remove("ARROW:extension:name");
            metadata.remove("ARROW:extension:metadata");
            Field::new(field.name(), DataType::Utf8, field.is_nullable()).with_metadata(metadata)
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, set.schema.metadata().clone()));
    let batches = set
        .batches
        .iter()
        .map(|batch| {
            let columns: Vec<ArrayRef> = batch
                .columns()
                .iter()
                .zip(set.schema.fields())
                .map(|(column, field)| if is_uuid(field) { as_text(column) } else { column.clone() })
                .collect();
            RecordBatch::try_new(schema.clone(), columns)
        })
        .collect::<Result<_, _>>()?;
    Ok(ResultSet { schema, batches })
}

fn as_text(column: &ArrayRef) -> ArrayRef {
    let uuids = column.as_fixed_size_binary();
    let texts: StringArray =
        uuids.iter().map(|value| value.and_then(|bytes| <&[u8; 16]>::try_from(bytes).ok()).map(uuid_text)).collect();
    Arc::new(texts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::ColumnValues;
    use crate::tds::ColumnWriter;
    use crate::types::{ColumnType, ValueKind};
    use arrow_array::Array;

    #[test]
    fn uuid_columns_become_canonical_text_and_others_stay() {
        let mut ids =
            ColumnValues::new("id", ColumnType { kind: ValueKind::Uuid, sql_type: "uniqueidentifier".into() }, true);
        ids.push_uuid(std::array::from_fn(|i| i as u8));
        ids.push_null();
        let mut ns = ColumnValues::new("n", ColumnType { kind: ValueKind::Int32, sql_type: "int".into() }, true);
        ns.push_i32(1);
        ns.push_i32(2);
        let schema = Arc::new(Schema::new(vec![ids.field(), ns.field()]));
        let batch = RecordBatch::try_new(schema.clone(), vec![ids.finish().unwrap(), ns.finish().unwrap()]).unwrap();
        let text = uuids_as_text(&ResultSet { schema, batches: vec![batch.clone()] }).unwrap();
        let field = text.schema.field(0);
        assert_eq!((field.data_type(), field.metadata()["mssql.type"].as_str()), (&DataType::Utf8, "uniqueidentifier"));
        assert!(!field.metadata().contains_key("ARROW:extension:name"));
        let values = text.batches[0].column(0).as_string::<i32>();
        assert_eq!((values.value(0), values.is_null(1)), ("00010203-0405-0607-0809-0a0b0c0d0e0f", true));
        assert!(Arc::ptr_eq(text.batches[0].column(1), batch.column(1)), "other columns share their buffers");
    }
}
