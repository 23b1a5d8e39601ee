//! Views and stored procedures as the store keeps them: their definition text (from CREATE on,
//! as sys.sql_modules shows it) and where the body starts in it. They belong to the server's
//! shared database, so every session sees them, and a rolled-back CREATE leaves nothing.

use sqlparser::ast;

use super::query::{run_query, Context};
use super::store::Store;
use crate::engine::Session;
use crate::sql::definition::DefinitionVerb;
use crate::sql::eval::Variables;
use crate::sql::parser::{parse_query, SqlError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleKind {
    View,
    Procedure,
}

impl ModuleKind {
    pub(super) fn code(self) -> &'static str {
        match self {
            ModuleKind::View => "V",
            ModuleKind::Procedure => "P",
        }
    }

    pub(super) fn from_code(code: &str) -> ModuleKind {
        if code == "V" {
            ModuleKind::View
        } else {
            ModuleKind::Procedure
        }
    }
}

#[derive(Clone, Debug)]
pub struct Module {
    pub name: String,
    pub kind: ModuleKind,
    /// The CREATE statement's text
    pub definition: String,
    /// Where the body (after AS) starts in `definition`
    pub body_offset: usize,
}

impl Module {
    pub fn body(&self) -> &str {
        &self.definition[self.body_offset..]
    }

    /// The line of `definition` the body starts on (1-based).
    pub fn body_line(&self) -> u32 {
        1 + self.definition[..self.body_offset].matches('\n').count() as u32
    }
}

/// A view: its name and query.
pub struct View {
    pub name: String,
    pub query: ast::Query,
}

/// The view `name` with its query; `None` when there is no such view.
pub fn view(store: &Store, name: &str) -> Result<Option<View>, SqlError> {
    match store.module(name)? {
        Some(m) if m.kind == ModuleKind::View => {
            let query = parse_query(m.body(), m.body_line())?;
            Ok(Some(View { name: m.name, query }))
        }
        _ => Ok(None),
    }
}

impl ModuleKind {
    /// As SQL Server's messages name it.
    fn noun(self) -> &'static str {
        match self {
            ModuleKind::View => "view",
            ModuleKind::Procedure => "procedure",
        }
    }
}

/// CREATE, ALTER or CREATE OR ALTER of a module, in the session's transaction: SQL Server's 2714
/// when CREATE finds the name taken, 208 when ALTER finds no such module. A view's query must run.
pub fn define(session: &mut Session, module: &Module, verb: DefinitionVerb) -> Result<(), SqlError> {
    super::begin_if_open(session)?;
    let store = session.store.as_ref().expect("opened by begin_if_open");
    let existing = store.module(&module.name)?;
    let taken = existing.is_some() || store.table(&module.name)?.is_some();
    let same_kind = existing.as_ref().is_some_and(|m| m.kind == module.kind);
    match verb {
        DefinitionVerb::Create if taken => return Err(already_exists(&module.name)),
        DefinitionVerb::CreateOrAlter if taken && !same_kind => return Err(already_exists(&module.name)),
        DefinitionVerb::Alter if !same_kind => {
            return Err(SqlError::new(208, format!("Invalid object name '{}'.", module.name)))
        }
        _ => {}
    }
    if module.kind == ModuleKind::View {
        let query = parse_query(module.body(), module.body_line())?;
        let no_variables = Variables::new();
        run_query(&Context::new(session, &no_variables), &query)?;
    }
    store.statement(|s| s.save_module(module))
}

fn already_exists(name: &str) -> SqlError {
    SqlError::new(2714, format!("There is already an object named '{name}' in the database."))
}

/// DROP PROCEDURE / DROP VIEW of `name`: SQL Server's 3701 when there is none (unless IF EXISTS).
pub fn drop(session: &mut Session, kind: ModuleKind, name: &str, if_exists: bool) -> Result<(), SqlError> {
    super::begin_if_open(session)?;
    let store = session.store.as_ref().expect("opened by begin_if_open");
    match store.module(name)? {
        Some(m) if m.kind == kind => store.statement(|s| s.remove_module(&m.name)),
        _ if if_exists => Ok(()),
        _ => Err(SqlError::new(
            3701,
            format!(
                "Cannot drop the {} '{name}', because it does not exist or you do not have permission.",
                kind.noun()
            ),
        )),
    }
}
