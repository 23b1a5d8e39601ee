//! sp_describe_undeclared_parameters: deduces the types of a batch's undeclared
//! parameters by SQL Server's documented algorithm, for the expressions this server
//! runs (a parameter directly inside CAST/CONVERT takes the target type; anywhere else
//! no type can be deduced).

use std::collections::HashSet;

use super::eval::{eval, Scope};
use super::parser::{parse_batch, parse_param_declarations, Condition, Expr, SqlError, Statement};
use crate::types::{write_type_info, ColumnDef, SqlType, DEFAULT_COLLATION};
use crate::value::Value;

/// One undeclared parameter and the type deduced for it.
struct Deduced {
    name: String,
    ty: SqlType,
}

/// The result set sp_describe_undeclared_parameters returns for `statement`, whose
/// parameters declared in `declarations` are left out; `scope` types the expressions
/// parameters are compared with.
pub fn undeclared_parameters(
    statement: &str,
    declarations: &str,
    scope: &Scope,
) -> Result<(Vec<ColumnDef>, Vec<Vec<Value>>), SqlError> {
    let mut uses: Vec<(String, Option<SqlType>)> = Vec::new();
    for (statement, _) in parse_batch(statement)? {
        if let Statement::Select(items, filter) = statement {
            for item in &items {
                collect(&item.expr, None, &mut uses);
            }
            if let Some(f) = filter {
                collect_condition(&f, scope, &mut uses);
            }
        }
    }
    describe_parameters(uses, declarations)
}

/// Records the variables of a condition: one compared with a typed expression takes its type
/// (simple deduction).
fn collect_condition(condition: &Condition, scope: &Scope, uses: &mut Vec<(String, Option<SqlType>)>) {
    match condition {
        Condition::Compare(_, left, right) => {
            for (side, other) in [(left, right), (right, left)] {
                let other_type = eval(other, scope).ok().map(|t| t.ty).filter(|_| !has_variable(other));
                match (side, other_type) {
                    (Expr::Variable(name), Some(ty)) => uses.push((name.clone(), Some(ty))),
                    _ => collect(side, None, uses),
                }
            }
        }
        Condition::And(a, b) | Condition::Or(a, b) => {
            collect_condition(a, scope, uses);
            collect_condition(b, scope, uses);
        }
        Condition::Not(c) => collect_condition(c, scope, uses),
        Condition::IsNull { expr, .. } | Condition::InQuery { expr, .. } => collect(expr, None, uses),
        Condition::In { expr, list, .. } => std::iter::once(expr).chain(list).for_each(|e| collect(e, None, uses)),
        Condition::Between { expr, low, high, .. } => {
            [expr, low, high].into_iter().for_each(|e| collect(e, None, uses))
        }
        Condition::Like { expr, pattern, escape, .. } => {
            [expr, pattern].into_iter().chain(escape).for_each(|e| collect(e, None, uses))
        }
        Condition::Exists(_) => {}
    }
}

/// The result set of sp_describe_undeclared_parameters for parameter uses with the types deduced
/// for them (`None`: none can be), leaving out those declared in `declarations`.
pub fn describe_parameters(
    uses: Vec<(String, Option<SqlType>)>,
    declarations: &str,
) -> Result<(Vec<ColumnDef>, Vec<Vec<Value>>), SqlError> {
    let declared: HashSet<String> =
        parse_param_declarations(declarations)?.into_iter().map(|(name, _, _)| name.to_lowercase()).collect();
    let mut deduced: Vec<Deduced> = Vec::new();
    let mut seen = HashSet::new();
    for (name, target) in uses {
        let key = name.to_lowercase();
        if declared.contains(&key) {
            continue;
        }
        if !seen.insert(key) {
            return Err(SqlError::new(
                11508,
                format!("The undeclared parameter '{name}' is used more than once in the batch being analyzed."),
            ));
        }
        let ty = target.ok_or_else(|| {
            SqlError::new(11502, format!("The type of parameter '{name}' cannot be deduced in this context."))
        })?;
        deduced.push(Deduced { name, ty });
    }
    let rows = deduced.iter().enumerate().map(|(i, d)| row(i + 1, d)).collect();
    Ok((columns(), rows))
}

/// Records each variable in `expr` with the CAST/CONVERT target it is directly inside, if any.
fn collect(expr: &Expr, target: Option<&SqlType>, out: &mut Vec<(String, Option<SqlType>)>) {
    match expr {
        Expr::Variable(name) => out.push((name.clone(), target.cloned())),
        Expr::Cast(inner, ty) | Expr::Convert { ty, expr: inner, .. } => collect(inner, Some(ty), out),
        Expr::Negate(inner) | Expr::Plus(inner) => collect(inner, None, out),
        Expr::Arithmetic(_, left, right) => {
            collect(left, None, out);
            collect(right, None, out);
        }
        Expr::Function(_, args) => args.iter().for_each(|a| collect(a, None, out)),
        _ => {}
    }
}

fn has_variable(expr: &Expr) -> bool {
    let mut found = Vec::new();
    collect(expr, None, &mut found);
    !found.is_empty()
}

/// The result set of sp_describe_first_result_set for result columns `described` (browse mode 0).
pub fn first_result_set(described: &[ColumnDef]) -> (Vec<ColumnDef>, Vec<Vec<Value>>) {
    let sysname = SqlType::NVarChar(Some(128));
    let spec: [(&str, SqlType, bool); 39] = [
        ("is_hidden", SqlType::Bit, false),
        ("column_ordinal", SqlType::Int, false),
        ("name", sysname.clone(), true),
        ("is_nullable", SqlType::Bit, false),
        ("system_type_id", SqlType::Int, false),
        ("system_type_name", SqlType::NVarChar(Some(256)), true),
        ("max_length", SqlType::SmallInt, false),
        ("precision", SqlType::TinyInt, false),
        ("scale", SqlType::TinyInt, false),
        ("collation_name", sysname.clone(), true),
        ("user_type_id", SqlType::Int, true),
        ("user_type_database", sysname.clone(), true),
        ("user_type_schema", sysname.clone(), true),
        ("user_type_name", sysname.clone(), true),
        ("assembly_qualified_type_name", SqlType::NVarChar(Some(4000)), true),
        ("xml_collection_id", SqlType::Int, true),
        ("xml_collection_database", sysname.clone(), true),
        ("xml_collection_schema", sysname.clone(), true),
        ("xml_collection_name", sysname.clone(), true),
        ("is_xml_document", SqlType::Bit, false),
        ("is_case_sensitive", SqlType::Bit, false),
        ("is_fixed_length_clr_type", SqlType::Bit, false),
        ("source_server", sysname.clone(), true),
        ("source_database", sysname.clone(), true),
        ("source_schema", sysname.clone(), true),
        ("source_table", sysname.clone(), true),
        ("source_column", sysname, true),
        ("is_identity_column", SqlType::Bit, true),
        ("is_part_of_unique_key", SqlType::Bit, true),
        ("is_updateable", SqlType::Bit, true),
        ("is_computed_column", SqlType::Bit, true),
        ("is_sparse_column_set", SqlType::Bit, true),
        ("ordinal_in_order_by_list", SqlType::SmallInt, true),
        ("order_by_list_length", SqlType::SmallInt, true),
        ("order_by_is_descending", SqlType::SmallInt, true),
        ("tds_type_id", SqlType::Int, false),
        ("tds_length", SqlType::Int, false),
        ("tds_collation_id", SqlType::Int, true),
        ("tds_collation_sort_id", SqlType::TinyInt, true),
    ];
    let rows = described
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (system_type_id, max_length, precision, scale) = catalog_entry(&c.ty);
            let (tds_type, tds_length) = tds_type_and_length(&c.ty);
            let collated = c.ty.is_string();
            let [lcid_low, lcid_high, flags, version, sort_id] = DEFAULT_COLLATION;
            let collation_id = u32::from_le_bytes([lcid_low, lcid_high, flags, version]);
            let null_when = |absent: bool, v: Value| if absent { Value::Null } else { v };
            let mut row = vec![
                Value::Bool(false),
                Value::Int(i as i64 + 1),
                null_when(c.name.is_empty(), Value::Str(c.name.clone())),
                Value::Bool(c.nullable),
                Value::Int(system_type_id),
                Value::Str(c.ty.declaration()),
                Value::Int(max_length),
                Value::Int(precision),
                Value::Int(scale),
                null_when(!collated, Value::Str("SQL_Latin1_General_CP1_CI_AS".into())),
            ];
            row.extend(std::iter::repeat_n(Value::Null, 9));
            row.extend([Value::Bool(false), Value::Bool(false), Value::Bool(false)]);
            row.extend(std::iter::repeat_n(Value::Null, 5));
            row.extend([
                Value::Bool(c.identity),
                Value::Null,
                Value::Bool(c.updatable),
                Value::Bool(false),
                Value::Bool(false),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Int(tds_type),
                Value::Int(tds_length),
                null_when(!collated, Value::Int(collation_id as i64)),
                null_when(!collated, Value::Int(sort_id as i64)),
            ]);
            row
        })
        .collect();
    (definitions(&spec), rows)
}

/// Result columns of a system procedure from (name, type, nullable).
fn definitions(spec: &[(&str, SqlType, bool)]) -> Vec<ColumnDef> {
    spec.iter()
        .map(|(name, ty, nullable)| ColumnDef {
            name: (*name).into(),
            ty: ty.clone(),
            nullable: *nullable,
            updatable: false,
            identity: false,
            computed: false,
        })
        .collect()
}

fn columns() -> Vec<ColumnDef> {
    let sysname = SqlType::NVarChar(Some(128));
    let spec: [(&str, SqlType, bool); 24] = [
        ("parameter_ordinal", SqlType::Int, false),
        ("name", sysname.clone(), false),
        ("suggested_system_type_id", SqlType::Int, false),
        ("suggested_system_type_name", SqlType::NVarChar(Some(256)), true),
        ("suggested_max_length", SqlType::SmallInt, false),
        ("suggested_precision", SqlType::TinyInt, false),
        ("suggested_scale", SqlType::TinyInt, false),
        ("suggested_user_type_id", SqlType::Int, true),
        ("suggested_user_type_database", sysname.clone(), true),
        ("suggested_user_type_schema", sysname.clone(), true),
        ("suggested_user_type_name", sysname.clone(), true),
        ("suggested_assembly_qualified_type_name", SqlType::NVarChar(Some(4000)), true),
        ("suggested_xml_collection_id", SqlType::Int, true),
        ("suggested_xml_collection_database", sysname.clone(), true),
        ("suggested_xml_collection_schema", sysname.clone(), true),
        ("suggested_xml_collection_name", sysname.clone(), true),
        ("suggested_is_xml_document", SqlType::Bit, false),
        ("suggested_is_case_sensitive", SqlType::Bit, false),
        ("suggested_is_fixed_length_clr_type", SqlType::Bit, false),
        ("suggested_is_input", SqlType::Bit, false),
        ("suggested_is_output", SqlType::Bit, false),
        ("formal_parameter_name", sysname, true),
        ("suggested_tds_type_id", SqlType::Int, false),
        ("suggested_tds_length", SqlType::Int, false),
    ];
    definitions(&spec)
}

fn row(ordinal: usize, d: &Deduced) -> Vec<Value> {
    let (system_type_id, max_length, precision, scale) = catalog_entry(&d.ty);
    let (tds_type, tds_length) = tds_type_and_length(&d.ty);
    vec![
        Value::Int(ordinal as i64),
        Value::Str(d.name.clone()),
        Value::Int(system_type_id),
        Value::Str(d.ty.declaration()),
        Value::Int(max_length),
        Value::Int(precision),
        Value::Int(scale),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(true),
        Value::Bool(false),
        Value::Null,
        Value::Int(tds_type),
        Value::Int(tds_length),
    ]
}

/// sys.types system_type_id and the sys.columns max_length, precision and scale of `ty`.
fn catalog_entry(ty: &SqlType) -> (i64, i64, i64, i64) {
    let len = |n: &Option<u16>, bytes_per_char: i64| n.map_or(-1, |n| n as i64 * bytes_per_char);
    match ty {
        SqlType::Bit => (104, 1, 1, 0),
        SqlType::TinyInt => (48, 1, 3, 0),
        SqlType::SmallInt => (52, 2, 5, 0),
        SqlType::Int => (56, 4, 10, 0),
        SqlType::BigInt => (127, 8, 19, 0),
        SqlType::Real => (59, 4, 24, 0),
        SqlType::Float => (62, 8, 53, 0),
        SqlType::Decimal { precision, scale } => {
            (106, 1 + crate::types::decimal_magnitude_len(*precision) as i64, *precision as i64, *scale as i64)
        }
        SqlType::Numeric { precision, scale } => {
            (108, 1 + crate::types::decimal_magnitude_len(*precision) as i64, *precision as i64, *scale as i64)
        }
        SqlType::Money => (60, 8, 19, 4),
        SqlType::SmallMoney => (122, 4, 10, 4),
        SqlType::Char(n) => (175, *n as i64, 0, 0),
        SqlType::VarChar(n) => (167, len(n, 1), 0, 0),
        SqlType::NChar(n) => (239, *n as i64 * 2, 0, 0),
        SqlType::NVarChar(n) => (231, len(n, 2), 0, 0),
        SqlType::Text => (35, 16, 0, 0),
        SqlType::NText => (99, 16, 0, 0),
        SqlType::Binary(n) => (173, *n as i64, 0, 0),
        SqlType::VarBinary(n) => (165, len(n, 1), 0, 0),
        SqlType::Image => (34, 16, 0, 0),
        SqlType::Date => (40, 3, 10, 0),
        SqlType::Time(s) => (41, crate::types::time_len(*s) as i64, if *s == 0 { 8 } else { 9 + *s as i64 }, *s as i64),
        SqlType::DateTime => (61, 8, 23, 3),
        SqlType::SmallDateTime => (58, 4, 16, 0),
        SqlType::DateTime2(s) => {
            (42, 3 + crate::types::time_len(*s) as i64, if *s == 0 { 19 } else { 20 + *s as i64 }, *s as i64)
        }
        SqlType::DateTimeOffset(s) => {
            (43, 5 + crate::types::time_len(*s) as i64, if *s == 0 { 26 } else { 27 + *s as i64 }, *s as i64)
        }
        SqlType::UniqueIdentifier => (36, 16, 0, 0),
        SqlType::Xml => (241, -1, 0, 0),
        SqlType::SqlVariant => (98, 8016, 0, 0),
        // not a type a CAST can name
        SqlType::Null => (0, 0, 0, 0),
    }
}

/// The nullable TDS type token of `ty` and the length its TYPE_INFO announces.
fn tds_type_and_length(ty: &SqlType) -> (i64, i64) {
    let mut info = Vec::new();
    write_type_info(&mut info, ty, true);
    let length = match info.len() {
        // DATEN: no length; TIMEN & co: scale only
        1 => 3,
        2 if matches!(ty, SqlType::Time(_) | SqlType::DateTime2(_) | SqlType::DateTimeOffset(_) | SqlType::Xml) => {
            catalog_entry(ty).1
        }
        // BYTELEN types, DECIMALN/NUMERICN (then precision, scale)
        2 | 4 => info[1] as i64,
        // USHORTLEN types (+ collation)
        3 | 8 => u16::from_le_bytes([info[1], info[2]]) as i64,
        // LONGLEN types (+ collation)
        _ => u32::from_le_bytes([info[1], info[2], info[3], info[4]]) as i64,
    };
    (info[0] as i64, length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn describe(sql: &str, declarations: &str) -> Result<(Vec<ColumnDef>, Vec<Vec<Value>>), SqlError> {
        let (variables, options) = (HashMap::new(), HashMap::new());
        let scope = Scope::for_tests(&variables, &options);
        undeclared_parameters(sql, declarations, &scope)
    }

    #[test]
    fn deduces_cast_targets_and_skips_declared_parameters() {
        let (cols, rows) = describe(
            "SELECT CAST(@P1 AS int) AS a, CONVERT(nvarchar(10), @P2), CAST(@P3 AS decimal(10,2)), @known",
            "@known bit",
        )
        .unwrap();
        assert_eq!(cols.len(), 24);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            &rows[0][..7],
            &[
                Value::Int(1),
                Value::Str("@P1".into()),
                Value::Int(56),
                Value::Str("int".into()),
                Value::Int(4),
                Value::Int(10),
                Value::Int(0)
            ]
        );
        assert_eq!(&rows[0][22..], &[Value::Int(0x26), Value::Int(4)]);
        assert_eq!(
            &rows[1][2..7],
            &[Value::Int(231), Value::Str("nvarchar(10)".into()), Value::Int(20), Value::Int(0), Value::Int(0)]
        );
        assert_eq!(&rows[1][22..], &[Value::Int(0xE7), Value::Int(20)]);
        assert_eq!(
            &rows[2][2..7],
            &[Value::Int(106), Value::Str("decimal(10,2)".into()), Value::Int(9), Value::Int(10), Value::Int(2)]
        );
    }

    #[test]
    fn undeducible_or_repeated_parameters_are_errors() {
        assert_eq!(describe("SELECT @P1", "").unwrap_err().number, 11502);
        assert_eq!(describe("SELECT -CAST(@P1 AS int), CAST(@p1 AS int)", "").unwrap_err().number, 11508);
        assert!(describe("SELECT 1", "").unwrap().1.is_empty());
        // compared with a typed expression in WHERE, a parameter takes its type
        let (_, rows) = describe("SELECT 1 WHERE @P1 = CAST(2 AS smallint)", "").unwrap();
        assert_eq!(rows[0][3], Value::Str("smallint".into()));
        assert_eq!(describe("SELECT 1 WHERE @P1 = @P2", "").unwrap_err().number, 11502);
    }
}
