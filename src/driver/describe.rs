//! A result column's TYPE_INFO (as tiberius exposes it) as a sink column
//! description: the Arrow kind and the declared SQL Server type.

use crate::arrow::{ColumnDescription, ValueKind};
use crate::decimal::MAX_DIGITS;
use crate::error::DriverError;
use tiberius::{FixedLenType, TypeInfo, VarLenType};

/// TYPE_INFO length of a `(max)` type, whose values travel as PLP chunks.
const PLP_MAX_LENGTH: usize = 0xFFFF;

pub(crate) fn describe_column(name: &str, type_info: &TypeInfo) -> Result<ColumnDescription, DriverError> {
    use ValueKind as K;
    let described = |kind: ValueKind, sql_type: &str| Ok(ColumnDescription::new(kind, sql_type));
    let unexpected = || {
        Err(DriverError::not_supported(format!(
            "column '{name}' has a TYPE_INFO fastmssql does not know: {type_info:?}"
        )))
    };
    match type_info {
        TypeInfo::FixedLen(fixed) => match fixed {
            // A column of the untyped NULL type holds only NULLs.
            FixedLenType::Null | FixedLenType::Int4 => described(K::Int32, "int"),
            FixedLenType::Int1 => described(K::UInt8, "tinyint"),
            FixedLenType::Bit => described(K::Bool, "bit"),
            FixedLenType::Int2 => described(K::Int16, "smallint"),
            FixedLenType::Int8 => described(K::Int64, "bigint"),
            FixedLenType::Float4 => described(K::Float32, "real"),
            FixedLenType::Float8 => described(K::Float64, "float"),
            FixedLenType::Money => described(MONEY, "money"),
            FixedLenType::Money4 => described(SMALLMONEY, "smallmoney"),
            FixedLenType::Datetime => described(K::Timestamp, "datetime"),
            FixedLenType::Datetime4 => described(K::Timestamp, "smalldatetime"),
        },
        TypeInfo::VarLenSized(context) => {
            let len = context.len();
            match (context.r#type(), len) {
                (VarLenType::Intn, 1) => described(K::UInt8, "tinyint"),
                (VarLenType::Intn, 2) => described(K::Int16, "smallint"),
                (VarLenType::Intn, 4) => described(K::Int32, "int"),
                (VarLenType::Intn, 8) => described(K::Int64, "bigint"),
                (VarLenType::Bitn, _) => described(K::Bool, "bit"),
                (VarLenType::Floatn, 4) => described(K::Float32, "real"),
                (VarLenType::Floatn, 8) => described(K::Float64, "float"),
                (VarLenType::Money, 4) => described(SMALLMONEY, "smallmoney"),
                (VarLenType::Money, 8) => described(MONEY, "money"),
                (VarLenType::Datetimen, 4) => described(K::Timestamp, "smalldatetime"),
                (VarLenType::Datetimen, 8) => described(K::Timestamp, "datetime"),
                (VarLenType::Guid, _) => described(K::Uuid, "uniqueidentifier"),
                (VarLenType::Daten, _) => described(K::Date, "date"),
                // The length of the time types is their fractional-second scale.
                (VarLenType::Timen, scale) => described(K::Time, &format!("time({scale})")),
                (VarLenType::Datetime2, scale) => described(K::Timestamp, &format!("datetime2({scale})")),
                (VarLenType::DatetimeOffsetn, scale) => described(K::TimestampUtc, &format!("datetimeoffset({scale})")),
                (VarLenType::BigChar, _) => described(K::Utf8, &sized("char", len)),
                (VarLenType::BigVarChar, _) => described(K::Utf8, &sized("varchar", len)),
                // nchar/nvarchar lengths are in bytes, two per UTF-16 unit.
                (VarLenType::NChar, _) => described(K::Utf8, &sized_utf16("nchar", len)),
                (VarLenType::NVarchar, _) => described(K::Utf8, &sized_utf16("nvarchar", len)),
                (VarLenType::Text, _) => described(K::Utf8, "text"),
                (VarLenType::NText, _) => described(K::Utf8, "ntext"),
                (VarLenType::BigBinary, _) => described(K::Binary, &sized("binary", len)),
                (VarLenType::BigVarBin, _) => described(K::Binary, &sized("varbinary", len)),
                (VarLenType::Image, _) => described(K::Binary, "image"),
                (VarLenType::SSVariant, _) => Err(DriverError::not_supported(format!(
                    "column '{name}' is a sql_variant, which fastmssql does not support; CAST it to a concrete type"
                ))),
                _ => unexpected(),
            }
        }
        TypeInfo::VarLenSizedPrecision { ty, precision, scale, .. } => {
            let base = match ty {
                VarLenType::Decimaln => "decimal",
                VarLenType::Numericn => "numeric",
                _ => return unexpected(),
            };
            if !(1..=MAX_DIGITS).contains(precision) || scale > precision {
                return unexpected();
            }
            let kind = K::Decimal { precision: *precision, scale: *scale };
            described(kind, &format!("{base}({precision},{scale})"))
        }
        TypeInfo::Xml { .. } => described(K::Utf8, "xml"),
        // A CLR type (hierarchyid, geometry, ...) reaches us as its bytes.
        TypeInfo::Udt(udt) => described(K::Binary, &udt.type_name),
    }
}

const MONEY: ValueKind = ValueKind::Decimal { precision: 19, scale: 4 };
const SMALLMONEY: ValueKind = ValueKind::Decimal { precision: 10, scale: 4 };

/// `name(length)`, or `name(max)` for a PLP column.
fn sized(name: &str, length: usize) -> String {
    if length == PLP_MAX_LENGTH {
        format!("{name}(max)")
    } else {
        format!("{name}({length})")
    }
}

fn sized_utf16(name: &str, byte_length: usize) -> String {
    if byte_length == PLP_MAX_LENGTH {
        sized(name, byte_length)
    } else {
        sized(name, byte_length / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use tiberius::{Collation, VarLenContext};

    fn sized_type(ty: VarLenType, len: usize) -> TypeInfo {
        TypeInfo::VarLenSized(VarLenContext::new(ty, len, None))
    }

    fn describe(type_info: TypeInfo) -> (ValueKind, String) {
        let description = describe_column("c", &type_info).unwrap();
        (description.kind, description.sql_type)
    }

    fn expect(type_info: TypeInfo, kind: ValueKind, sql_type: &str) {
        assert_eq!(describe(type_info.clone()), (kind, sql_type.to_string()), "{type_info:?}");
    }

    #[test]
    fn not_null_fixed_types() {
        use FixedLenType as F;
        use ValueKind as K;
        for (fixed, kind, sql_type) in [
            (F::Bit, K::Bool, "bit"),
            (F::Int1, K::UInt8, "tinyint"),
            (F::Int2, K::Int16, "smallint"),
            (F::Int4, K::Int32, "int"),
            (F::Int8, K::Int64, "bigint"),
            (F::Float4, K::Float32, "real"),
            (F::Float8, K::Float64, "float"),
            (F::Money, K::Decimal { precision: 19, scale: 4 }, "money"),
            (F::Money4, K::Decimal { precision: 10, scale: 4 }, "smallmoney"),
            (F::Datetime, K::Timestamp, "datetime"),
            (F::Datetime4, K::Timestamp, "smalldatetime"),
            (F::Null, K::Int32, "int"),
        ] {
            expect(TypeInfo::FixedLen(fixed), kind, sql_type);
        }
    }

    #[test]
    fn nullable_types_take_their_width_from_the_length() {
        use ValueKind as K;
        use VarLenType as V;
        for (ty, len, kind, sql_type) in [
            (V::Intn, 1, K::UInt8, "tinyint"),
            (V::Intn, 2, K::Int16, "smallint"),
            (V::Intn, 4, K::Int32, "int"),
            (V::Intn, 8, K::Int64, "bigint"),
            (V::Bitn, 1, K::Bool, "bit"),
            (V::Floatn, 4, K::Float32, "real"),
            (V::Floatn, 8, K::Float64, "float"),
            (V::Money, 4, K::Decimal { precision: 10, scale: 4 }, "smallmoney"),
            (V::Money, 8, K::Decimal { precision: 19, scale: 4 }, "money"),
            (V::Datetimen, 4, K::Timestamp, "smalldatetime"),
            (V::Datetimen, 8, K::Timestamp, "datetime"),
            (V::Guid, 16, K::Uuid, "uniqueidentifier"),
            (V::Daten, 3, K::Date, "date"),
            (V::Timen, 3, K::Time, "time(3)"),
            (V::Datetime2, 7, K::Timestamp, "datetime2(7)"),
            (V::Datetime2, 0, K::Timestamp, "datetime2(0)"),
            (V::DatetimeOffsetn, 5, K::TimestampUtc, "datetimeoffset(5)"),
        ] {
            expect(sized_type(ty, len), kind, sql_type);
        }
    }

    #[test]
    fn impossible_widths_are_refused_naming_the_column() {
        for (ty, len) in [(VarLenType::Intn, 3), (VarLenType::Floatn, 2), (VarLenType::Money, 16)] {
            let err = describe_column("odd", &sized_type(ty, len)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::NotSupported);
            assert!(err.message.contains("'odd'"), "{}", err.message);
        }
    }

    #[test]
    fn character_and_binary_types_carry_their_length_or_max() {
        use ValueKind as K;
        use VarLenType as V;
        let collation = Some(Collation::new(0x0904_D009, 0x34));
        for (ty, len, kind, sql_type) in [
            (V::BigVarChar, 50, K::Utf8, "varchar(50)"),
            (V::BigVarChar, 0xFFFF, K::Utf8, "varchar(max)"),
            (V::BigChar, 10, K::Utf8, "char(10)"),
            (V::NVarchar, 100, K::Utf8, "nvarchar(50)"),
            (V::NVarchar, 0xFFFF, K::Utf8, "nvarchar(max)"),
            (V::NChar, 8, K::Utf8, "nchar(4)"),
            (V::Text, 0x7FFF_FFFF, K::Utf8, "text"),
            (V::NText, 0x7FFF_FFFE, K::Utf8, "ntext"),
            (V::BigBinary, 16, K::Binary, "binary(16)"),
            (V::BigVarBin, 8000, K::Binary, "varbinary(8000)"),
            (V::BigVarBin, 0xFFFF, K::Binary, "varbinary(max)"),
            (V::Image, 0x7FFF_FFFF, K::Binary, "image"),
        ] {
            expect(TypeInfo::VarLenSized(VarLenContext::new(ty, len, collation)), kind, sql_type);
        }
        expect(TypeInfo::Xml { schema: None, size: 0 }, K::Utf8, "xml");
    }

    #[test]
    fn decimals_keep_the_declared_precision_and_scale() {
        let decimal = |ty, precision, scale| TypeInfo::VarLenSizedPrecision { ty, size: 9, precision, scale };
        expect(decimal(VarLenType::Decimaln, 18, 4), ValueKind::Decimal { precision: 18, scale: 4 }, "decimal(18,4)");
        expect(
            decimal(VarLenType::Numericn, 38, 38),
            ValueKind::Decimal { precision: 38, scale: 38 },
            "numeric(38,38)",
        );
        for (precision, scale) in [(0, 0), (39, 0), (5, 6)] {
            assert!(describe_column("d", &decimal(VarLenType::Numericn, precision, scale)).is_err());
        }
        assert!(describe_column("d", &decimal(VarLenType::Intn, 10, 0)).is_err());
    }

    #[test]
    fn sql_variant_is_not_supported_and_names_the_column() {
        let err = describe_column("v", &sized_type(VarLenType::SSVariant, 8016)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotSupported);
        assert!(err.message.contains("'v'") && err.message.contains("sql_variant"));
    }
}
