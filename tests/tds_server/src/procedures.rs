//! Stored procedures at run time: binding the caller's arguments to the parameters (by position,
//! then by name; defaults; OUTPUT parameters), running the body as a scope of its own, and the
//! return status: RETURN's value, else 0, or -6 when an error occurred in the body.

use crate::control::{self, Outcome};
use crate::engine::{already_reported, Called, DoneKind, Event, RpcParam, Session, PARAM_BY_REF, PARAM_DEFAULT};
use crate::sql::convert::convert;
use crate::sql::definition::{self, ProcedureParameter};
use crate::sql::eval::{eval, Variables};
use crate::sql::parser::SqlError;
use crate::tables::modules::{Module, ModuleKind};
use crate::types::{ColumnDef, SqlType};
use crate::value::Value;

/// SQL Server's limit on nested procedure calls.
const MAX_NESTING: u32 = 32;

/// The status a procedure returns when an error occurred in it and it did not RETURN a value.
const ERROR_STATUS: i32 = -6;

/// The object a procedure name names: `p`, `dbo.p`, `[master].[dbo].[p]`, `master..p`.
pub fn object_name(name: &str) -> Result<String, SqlError> {
    let parts: Vec<String> =
        name.split('.').map(|p| p.trim_matches(|c| c == '[' || c == ']' || c == '"').to_string()).collect();
    match parts.as_slice() {
        [p] => Ok(p.clone()),
        [schema, p] | [_, schema, p] if schema.is_empty() || schema.eq_ignore_ascii_case("dbo") => Ok(p.clone()),
        // SQL Server's own procedures are in sys
        [schema, p] | [_, schema, p] if schema.eq_ignore_ascii_case("sys") && is_system_name(p) => {
            Err(SqlError::not_supported(format!("The system procedure '{name}'")))
        }
        _ => Err(SqlError::new(2812, format!("Could not find stored procedure '{name}'."))),
    }
}

/// Whether a name is one of SQL Server's own procedures' (sp_..., xp_...).
fn is_system_name(name: &str) -> bool {
    ["sp_", "xp_"].iter().any(|p| name.to_ascii_lowercase().starts_with(p))
}

/// The stored procedure `name`: SQL Server's 2812 when there is none.
fn find(session: &Session, name: &str) -> Result<Module, SqlError> {
    let store =
        session.store.as_ref().ok_or_else(|| SqlError::not_supported("A procedure call before the store opens"))?;
    let object = object_name(name)?;
    match store.module(&object)? {
        Some(m) if m.kind == ModuleKind::Procedure => Ok(m),
        // SQL Server's own procedures exist: this server lacks them
        _ if is_system_name(&object) => Err(SqlError::not_supported(format!("The system procedure '{name}'"))),
        _ => Err(SqlError::new(2812, format!("Could not find stored procedure '{name}'."))),
    }
}

/// Runs the stored procedure `name` with `params`, appending the events of its statements.
pub(crate) fn call(
    session: &mut Session,
    name: &str,
    params: &[RpcParam],
    events: &mut Vec<Event>,
) -> Result<Called, SqlError> {
    let module = find(session, name)?;
    let declared = definition::parameters(&module.definition)?;
    let (mut variables, outputs) = bind(session, &module.name, &declared, params)?;
    if session.nesting_level >= MAX_NESTING {
        return Err(SqlError::new(
            217,
            format!(
                "Maximum stored procedure, function, trigger, or view nesting level exceeded (limit {MAX_NESTING})."
            ),
        ));
    }
    // the body keeps the lines it has in the definition
    let body = format!("{}{}", "\n".repeat(module.body_line() as usize - 1), module.body());
    let start = events.len();
    session.nesting_level += 1;
    let outer_identity = session.scope_identity.take();
    // SET options the procedure changes are restored when it returns, as SQL Server documents
    let options = session.options.clone();
    let outcome = control::run(session, &body, &mut variables, DoneKind::DoneInProc, events);
    session.options = options;
    session.scope_identity = outer_identity;
    session.nesting_level -= 1;
    // its messages name the procedure
    let mut had_error = false;
    for e in &mut events[start..] {
        had_error |= matches!(e, Event::Error(m) if m.class > 10);
        if let Event::Error(m) | Event::Info(m) = e {
            if m.procedure.is_empty() {
                m.procedure = module.name.clone();
            }
        }
    }
    let status = match outcome {
        Outcome::Aborted => return Err(already_reported()),
        Outcome::Returned(Some(status)) => status,
        Outcome::Returned(None) | Outcome::Completed if had_error => ERROR_STATUS,
        Outcome::Returned(None) | Outcome::Completed => 0,
    };
    let outputs = outputs
        .into_iter()
        .map(|(ordinal, parameter)| {
            let value = variables.get(&parameter.name.to_lowercase()).map_or(Value::Null, |(_, v)| v.clone());
            Event::ReturnValue {
                ordinal: ordinal as u16,
                // as the caller named it: SQL Server sends no name for an unnamed RPC parameter
                name: params[ordinal].name.clone(),
                status: PARAM_BY_REF,
                column: ColumnDef {
                    name: String::new(),
                    ty: parameter.ty.clone(),
                    nullable: true,
                    updatable: false,
                    identity: false,
                    computed: false,
                },
                value,
            }
        })
        .collect();
    Ok(Called { status, outputs })
}

/// An OUTPUT parameter and the position of the argument its value goes back to.
type Output<'p> = (usize, &'p ProcedureParameter);

/// The procedure's variables from its parameters and the caller's arguments, and its OUTPUT parameters.
fn bind<'p>(
    session: &Session,
    procedure: &str,
    declared: &'p [ProcedureParameter],
    params: &[RpcParam],
) -> Result<(Variables, Vec<Output<'p>>), SqlError> {
    let mut given: Vec<Option<(usize, &RpcParam)>> = vec![None; declared.len()];
    let mut named_seen = false;
    for (position, param) in params.iter().enumerate() {
        let index = if param.name.is_empty() {
            if named_seen {
                return Err(SqlError::new(
                    119,
                    format!("Must pass parameter number {} and subsequent parameters as '@name = value'. After the form '@name = value' has been used, all subsequent parameters must be passed in the form '@name = value'.", position + 1),
                ));
            }
            if position >= declared.len() {
                return Err(SqlError::new(
                    8144,
                    format!("Procedure or function {procedure} has too many arguments specified."),
                ));
            }
            position
        } else {
            named_seen = true;
            let wanted = if param.name.starts_with('@') { param.name.clone() } else { format!("@{}", param.name) };
            declared
                .iter()
                .position(|d| d.name.eq_ignore_ascii_case(&wanted))
                .ok_or_else(|| SqlError::new(8145, format!("{wanted} is not a parameter for procedure {procedure}.")))?
        };
        given[index] = Some((position, param));
    }
    let mut variables = Variables::new();
    let mut outputs = Vec::new();
    for (parameter, argument) in declared.iter().zip(given) {
        let supplied = argument.filter(|(_, p)| p.status & PARAM_DEFAULT == 0);
        let value = match (supplied, &parameter.default) {
            (Some((_, p)), _) => convert(&p.value, &p.ty, &parameter.ty).map_err(|_| {
                let from = if p.ty == SqlType::Null { "int" } else { p.ty.name() };
                SqlError::new(8114, format!("Error converting data type {from} to {}.", parameter.ty.name()))
            })?,
            (None, Some(default)) => {
                let no_variables = Variables::new();
                let typed = eval(default, &crate::engine::scope(session, &no_variables, &[]))?;
                convert(&typed.value?, &typed.ty, &parameter.ty)?
            }
            (None, None) => {
                return Err(SqlError::new(
                    201,
                    format!(
                        "Procedure or function '{procedure}' expects parameter '{}', which was not supplied.",
                        parameter.name
                    ),
                ))
            }
        };
        if let Some((position, p)) = argument {
            if p.status & PARAM_BY_REF != 0 {
                if !parameter.output {
                    return Err(SqlError::new(
                        8162,
                        format!("The formal parameter \"{}\" was not declared as an OUTPUT parameter, but the actual parameter passed in requested output.", parameter.name),
                    ));
                }
                outputs.push((position, parameter));
            }
        }
        variables.insert(parameter.name.to_lowercase(), (parameter.ty.clone(), value));
    }
    Ok((variables, outputs))
}
