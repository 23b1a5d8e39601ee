//! Functions of the server, the database and the session: SERVERPROPERTY and DATABASEPROPERTYEX
//! (sql_variant, as SQL Server returns them), DB_NAME, DB_ID, SCHEMA_NAME, SCHEMA_ID, the user
//! and login names, APP_NAME, XACT_STATE and the ERROR_* functions of a CATCH block.

use super::eval::Typed;
use super::eval::{Scope, VERSION_TEXT};
use super::functions::{arguments, integer, text};
use super::parser::SqlError;
use crate::engine::{find_database, DATABASES};
use crate::types::SqlType;
use crate::value::Value;

/// The functions of this module.
pub const NAMES: &[&str] = &[
    "SERVERPROPERTY",
    "SQL_VARIANT_PROPERTY",
    "DATABASEPROPERTYEX",
    "DB_NAME",
    "DB_ID",
    "SCHEMA_NAME",
    "SCHEMA_ID",
    "USER_NAME",
    "CURRENT_USER",
    "SESSION_USER",
    "USER",
    "SUSER_NAME",
    "SUSER_SNAME",
    "SYSTEM_USER",
    "ORIGINAL_LOGIN",
    "APP_NAME",
    "XACT_STATE",
    "ERROR_NUMBER",
    "ERROR_MESSAGE",
    "ERROR_SEVERITY",
    "ERROR_STATE",
    "ERROR_LINE",
    "ERROR_PROCEDURE",
];

/// sysname: how SQL Server types names.
pub const SYSNAME: SqlType = SqlType::NVarChar(Some(128));

/// The schemas of every database, by schema_id.
pub const SCHEMAS: &[(i32, &str)] = &[(1, "dbo"), (2, "guest"), (3, "INFORMATION_SCHEMA"), (4, "sys")];

/// The database user every login of this server is (its logins are all sysadmin).
pub const DATABASE_USER: &str = "dbo";

/// The server's collation, as SERVERPROPERTY and the catalog name it.
pub const COLLATION_NAME: &str = "SQL_Latin1_General_CP1_CI_AS";

fn name_value(name: Option<&str>) -> Value {
    name.map_or(Value::Null, |n| Value::Str(n.to_string()))
}

/// A value of a sql_variant result: the base type and value, or NULL.
fn variant(ty: SqlType, value: Value) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    Value::Variant(Box::new(ty), Box::new(value))
}

fn text_arg(a: Typed) -> Result<Option<String>, SqlError> {
    let v = a.value?;
    text(&v, &a.ty)
}

/// Evaluates one of `NAMES`.
pub fn call(name: &str, args: Vec<Typed>, scope: &Scope) -> Result<Typed, SqlError> {
    let typed = |ty: SqlType, nullable: bool, value: Result<Value, SqlError>| Ok(Typed { ty, nullable, value });
    let session = scope.session;
    let database = session.map_or("master", |s| s.database.as_str());
    let login = session.map_or("sa", |s| s.user.as_str());
    match name {
        "SERVERPROPERTY" => {
            arguments(name, &args, 1, 1)?;
            let value = text_arg(one(args)).map(|p| p.map_or(Value::Null, |p| server_property(&p, scope)));
            typed(SqlType::SqlVariant, true, value)
        }
        "SQL_VARIANT_PROPERTY" => {
            arguments(name, &args, 2, 2)?;
            let mut args = args.into_iter();
            let (value, property) = (args.next().expect("two"), args.next().expect("two"));
            let result = (|| {
                let v = value.value?;
                let Some(property) = text_arg(property)? else { return Ok(Value::Null) };
                // any other value is converted to sql_variant first
                let base = match &v {
                    Value::Null => return Ok(Value::Null),
                    Value::Variant(base, _) => base.as_ref().clone(),
                    _ => value.ty.clone(),
                };
                variant_property(&base, &property)
            })();
            typed(SqlType::SqlVariant, true, result)
        }
        "DATABASEPROPERTYEX" => {
            arguments(name, &args, 2, 2)?;
            let mut args = args.into_iter();
            let (db, property) = (args.next().expect("two"), args.next().expect("two"));
            let value = (|| {
                let (Some(db), Some(property)) = (text_arg(db)?, text_arg(property)?) else {
                    return Ok(Value::Null);
                };
                if find_database(&db).is_none() {
                    return Ok(Value::Null);
                }
                Ok(database_property(&property))
            })();
            typed(SqlType::SqlVariant, true, value)
        }
        "DB_NAME" => {
            arguments(name, &args, 0, 1)?;
            let value = match args.into_iter().next() {
                None => Ok(Value::Str(database.to_string())),
                Some(id) => integer(id).map(|id| {
                    name_value(id.and_then(|id| DATABASES.get(usize::try_from(id).ok()?.checked_sub(1)?).copied()))
                }),
            };
            typed(SYSNAME, true, value)
        }
        "DB_ID" => {
            arguments(name, &args, 0, 1)?;
            let value = match args.into_iter().next() {
                None => Ok(database_id(database)),
                Some(n) => text_arg(n).map(|n| n.map_or(Value::Null, |n| database_id(&n))),
            };
            typed(SqlType::Int, true, value)
        }
        "SCHEMA_NAME" => {
            arguments(name, &args, 0, 1)?;
            let value = match args.into_iter().next() {
                None => Ok(Value::Str("dbo".to_string())),
                Some(id) => integer(id).map(|id| {
                    name_value(id.and_then(|id| SCHEMAS.iter().find(|(i, _)| *i as i64 == id).map(|(_, n)| *n)))
                }),
            };
            typed(SYSNAME, true, value)
        }
        "SCHEMA_ID" => {
            arguments(name, &args, 0, 1)?;
            let value = match args.into_iter().next() {
                None => Ok(Value::Int(1)),
                Some(n) => text_arg(n).map(|n| {
                    n.and_then(|n| SCHEMAS.iter().find(|(_, s)| s.eq_ignore_ascii_case(&n)))
                        .map_or(Value::Null, |(id, _)| Value::Int(*id as i64))
                }),
            };
            typed(SqlType::Int, true, value)
        }
        "USER_NAME" => {
            arguments(name, &args, 0, 1)?;
            let value = match args.into_iter().next() {
                None => Ok(Value::Str(DATABASE_USER.to_string())),
                Some(id) => integer(id).map(|id| name_value((id == Some(1)).then_some(DATABASE_USER))),
            };
            typed(SYSNAME, true, value)
        }
        "CURRENT_USER" | "SESSION_USER" | "USER" => {
            arguments(name, &args, 0, 0)?;
            typed(SYSNAME, false, Ok(Value::Str(DATABASE_USER.to_string())))
        }
        "SUSER_NAME" | "SUSER_SNAME" | "SYSTEM_USER" | "ORIGINAL_LOGIN" => {
            arguments(name, &args, 0, 0)?;
            typed(SYSNAME, name != "SYSTEM_USER", Ok(Value::Str(login.to_string())))
        }
        "APP_NAME" => {
            arguments(name, &args, 0, 0)?;
            let application = session.map_or("", |s| s.application.as_str());
            typed(SqlType::NVarChar(Some(128)), true, Ok(Value::Str(application.to_string())))
        }
        "XACT_STATE" => {
            arguments(name, &args, 0, 0)?;
            typed(SqlType::SmallInt, false, Ok(Value::Int(i64::from(scope.trancount > 0))))
        }
        _ => {
            // the ERROR_* functions: the error a CATCH block handles, NULL outside one
            arguments(name, &args, 0, 0)?;
            let error = session.and_then(|s| s.handled_error.as_ref());
            let (ty, value) = match name {
                "ERROR_NUMBER" => (SqlType::Int, error.map(|e| Value::Int(e.number as i64))),
                "ERROR_MESSAGE" => (SqlType::NVarChar(Some(4000)), error.map(|e| Value::Str(e.text.clone()))),
                "ERROR_SEVERITY" => (SqlType::Int, error.map(|e| Value::Int(e.class as i64))),
                "ERROR_STATE" => (SqlType::Int, error.map(|e| Value::Int(e.state as i64))),
                "ERROR_LINE" => (SqlType::Int, error.map(|e| Value::Int(e.line as i64))),
                _ => (SYSNAME, error.and_then(|e| (!e.procedure.is_empty()).then(|| Value::Str(e.procedure.clone())))),
            };
            typed(ty, true, Ok(value.unwrap_or(Value::Null)))
        }
    }
}

fn one(args: Vec<Typed>) -> Typed {
    args.into_iter().next().expect("one argument, checked")
}

fn database_id(name: &str) -> Value {
    DATABASES.iter().position(|d| d.eq_ignore_ascii_case(name)).map_or(Value::Null, |i| Value::Int(i as i64 + 1))
}

/// SERVERPROPERTY: this server reads as SQL Server 2022 Developer Edition (see @@VERSION).
fn server_property(property: &str, scope: &Scope) -> Value {
    let version = VERSION_TEXT.split(" - ").nth(1).and_then(|v| v.split_whitespace().next()).unwrap_or("16.0.1000.6");
    let mut parts = version.split('.');
    let (major, minor, build) =
        (parts.next().unwrap_or("16"), parts.next().unwrap_or("0"), parts.next().unwrap_or("0"));
    let string = |s: &str| variant(SYSNAME, Value::Str(s.to_string()));
    let int = |i: i64| variant(SqlType::Int, Value::Int(i));
    match property.to_ascii_lowercase().as_str() {
        "productversion" => string(version),
        "productmajorversion" => string(major),
        "productminorversion" => string(minor),
        "productbuild" => string(build),
        "productlevel" => string("RTM"),
        "edition" => string("Developer Edition (64-bit)"),
        "engineedition" => int(3),
        "editionid" => variant(SqlType::BigInt, Value::Int(-2117995310)),
        "machinename" | "servername" => string(scope.server_name),
        "collation" => string(COLLATION_NAME),
        "collationid" => int(872468488),
        "lcid" => int(1033),
        "sqlcharset" => variant(SqlType::TinyInt, Value::Int(1)),
        "sqlcharsetname" => string("iso_1"),
        "sqlsortorder" => variant(SqlType::TinyInt, Value::Int(52)),
        "sqlsortordername" => string("nocase_iso"),
        "processid" => int(std::process::id() as i64),
        "isclustered"
        | "isfulltextinstalled"
        | "isintegratedsecurityonly"
        | "issingleuser"
        | "ishadrenabled"
        | "islocaldb"
        | "ispolybaseinstalled"
        | "isadvancedanalyticsinstalled" => int(0),
        // InstanceName (a default instance), ProductUpdateLevel (RTM) and unknown properties
        _ => Value::Null,
    }
}

/// SQL_VARIANT_PROPERTY of a value of base type `base`, as documented: BaseType, Precision, Scale,
/// Collation and MaxLength (TotalBytes is refused).
fn variant_property(base: &SqlType, property: &str) -> Result<Value, SqlError> {
    let info = crate::tables::catalog::type_info(base);
    let int = |i: i64| variant(SqlType::Int, Value::Int(i));
    Ok(match property.to_ascii_lowercase().as_str() {
        "basetype" => variant(SYSNAME, Value::Str(base.name().to_string())),
        // the documented precision of the numeric and date/time types, 0 for the others
        "precision" => int(match base {
            SqlType::Decimal { precision, .. } | SqlType::Numeric { precision, .. } => *precision as i64,
            SqlType::DateTime | SqlType::SmallDateTime | SqlType::Real | SqlType::Float | SqlType::Bit => {
                info.precision as i64
            }
            t if t.is_integer() || t.is_money() => info.precision as i64,
            _ => 0,
        }),
        "scale" => int(match base {
            SqlType::Decimal { scale, .. } | SqlType::Numeric { scale, .. } => *scale as i64,
            SqlType::Money | SqlType::SmallMoney => 4,
            SqlType::DateTime => 3,
            _ => 0,
        }),
        "collation" if base.is_string() => variant(SYSNAME, Value::Str(COLLATION_NAME.to_string())),
        "collation" => Value::Null,
        "maxlength" => int(info.max_length as i64),
        "totalbytes" => return Err(SqlError::not_supported("SQL_VARIANT_PROPERTY(..., 'TotalBytes')")),
        _ => Value::Null,
    })
}

/// DATABASEPROPERTYEX of any of this server's databases.
fn database_property(property: &str) -> Value {
    let string = |s: &str| variant(SqlType::NVarChar(Some(128)), Value::Str(s.to_string()));
    let int = |i: i64| variant(SqlType::Int, Value::Int(i));
    match property.to_ascii_lowercase().as_str() {
        "collation" => string(COLLATION_NAME),
        "status" => string("ONLINE"),
        "updateability" => string("READ_WRITE"),
        "useraccess" => string("MULTI_USER"),
        "recovery" => string("SIMPLE"),
        "version" => int(957),
        "isautoclose" | "isautoshrink" | "isfulltextenabled" | "isinstandby" => int(0),
        _ => Value::Null,
    }
}
