//! The definitions of views and stored procedures: a CREATE/ALTER batch, and DROP VIEW/PROCEDURE.

use crate::engine::{done, fail, DoneKind, Event, Session};
use crate::sql::definition::{Definition, DefinitionKind};
use crate::sql::parser::SqlError;
use crate::tables::modules::{self, Module, ModuleKind};

fn module_kind(kind: DefinitionKind) -> ModuleKind {
    match kind {
        DefinitionKind::Procedure => ModuleKind::Procedure,
        DefinitionKind::View => ModuleKind::View,
    }
}

/// Runs a CREATE/ALTER PROCEDURE or VIEW batch; returns whether it succeeded.
pub fn define(session: &mut Session, d: &Definition, kind: DoneKind, events: &mut Vec<Event>) -> bool {
    let module = Module {
        name: d.name.clone(),
        kind: module_kind(d.kind),
        definition: d.text.clone(),
        body_offset: d.body_offset,
    };
    match modules::define(session, &module, d.verb) {
        Ok(()) => {
            events.push(done(kind, 0, 0, 0));
            true
        }
        Err(e) => {
            let line = e.line.max(1);
            fail(events, kind, e, 0, line)
        }
    }
}

/// `DROP PROCEDURE|VIEW [IF EXISTS] name, ...`; returns whether the batch goes on.
pub fn drop(
    session: &mut Session,
    kind: DefinitionKind,
    names: &[String],
    if_exists: bool,
    line: u32,
    done_kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    let dropped = names.iter().try_for_each(|name| -> Result<(), SqlError> {
        let object = crate::procedures::object_name(name)?;
        modules::drop(session, module_kind(kind), &object, if_exists)
    });
    match dropped {
        Ok(()) => {
            events.push(done(done_kind, 0, 0, 0));
            true
        }
        Err(e) => fail(events, done_kind, e, 0, line),
    }
}
