//! Bulk load on the engine: `SELECT TOP 0 *` metadata as bulk clients read it, `INSERT BULK`,
//! then the BulkLoad message (COLMETADATA, ROW/NBCROW, DONE) decoded, converted to the
//! columns' types and inserted all or nothing. The messages are written byte by byte here
//! from MS-TDS 2.2.7.4/2.2.7.17/2.2.7.18, as a bulk client sends them.

mod engine_support;

use engine_support::{errors, rows, run, session};
use tds_server::engine::{execute_batch, Done, DoneKind, Event, Session};
use tds_server::tables::bulk::load;
use tds_server::types::SqlType;
use tds_server::value::Value;

fn last_done(events: &[Event]) -> Done {
    events.iter().rev().find_map(|e| if let Event::Done(d) = e { Some(*d) } else { None }).expect("a DONE")
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];

/// A bulk client's COLMETADATA, built column by column.
struct Message {
    bytes: Vec<u8>,
}

impl Message {
    fn new(columns: u16) -> Message {
        let mut bytes = vec![0x81];
        bytes.extend_from_slice(&columns.to_le_bytes());
        Message { bytes }
    }

    /// UserType, Flags, the TYPE_INFO bytes, then the name.
    fn column(mut self, name: &str, flags: u16, type_info: &[u8]) -> Message {
        self.bytes.extend_from_slice(&0u32.to_le_bytes());
        self.bytes.extend_from_slice(&flags.to_le_bytes());
        self.bytes.extend_from_slice(type_info);
        self.bytes.push(name.encode_utf16().count() as u8);
        self.bytes.extend_from_slice(&utf16(name));
        self
    }

    fn row(mut self, data: &[&[u8]]) -> Message {
        self.bytes.push(0xD1);
        for d in data {
            self.bytes.extend_from_slice(d);
        }
        self
    }

    fn nbc_row(mut self, bitmap: &[u8], data: &[&[u8]]) -> Message {
        self.bytes.push(0xD2);
        self.bytes.extend_from_slice(bitmap);
        for d in data {
            self.bytes.extend_from_slice(d);
        }
        self
    }

    /// Ends with DONE (status DONE_FINAL, no count), as clients do.
    fn done(mut self) -> Vec<u8> {
        self.bytes.push(0xFD);
        self.bytes.extend_from_slice(&[0; 12]);
        self.bytes
    }
}

fn nvarchar_info(chars: u16) -> Vec<u8> {
    let mut info = vec![0xE7];
    info.extend_from_slice(&(chars * 2).to_le_bytes());
    info.extend_from_slice(&COLLATION);
    info
}

fn nvarchar(s: &str) -> Vec<u8> {
    let data = utf16(s);
    let mut v = (data.len() as u16).to_le_bytes().to_vec();
    v.extend_from_slice(&data);
    v
}

/// DECIMALN(p, s) value bytes of an unscaled positive or negative magnitude that fits 4 bytes.
fn decimal4(unscaled: i32) -> Vec<u8> {
    let mut v = vec![5, (unscaled >= 0) as u8];
    v.extend_from_slice(&unscaled.unsigned_abs().to_le_bytes());
    v
}

const NULLABLE: u16 = 0x0001;
const NVARCHAR_NULL: [u8; 2] = [0xFF, 0xFF];

fn create_people(s: &mut Session, table: &str) {
    run(
        s,
        &format!(
            "CREATE TABLE {table} (id INT IDENTITY(1,1) PRIMARY KEY, k INT NOT NULL UNIQUE, name NVARCHAR(10), \
             amount DECIMAL(9,2), note NVARCHAR(20) DEFAULT N'none')"
        ),
    );
}

#[test]
fn select_top_0_describes_the_columns_bulk_clients_write() {
    let mut s = session();
    create_people(&mut s, "bulk_meta");
    let events = run(&mut s, "SELECT TOP 0 * FROM bulk_meta");
    let Some(Event::ColMetadata(cols)) = events.first() else { panic!("{events:?}") };
    let flags: Vec<(&str, bool, bool, bool, bool)> =
        cols.iter().map(|c| (c.name.as_str(), c.nullable, c.updatable, c.identity, c.computed)).collect();
    assert_eq!(
        flags,
        [
            ("id", false, false, true, false),
            ("k", false, true, false, false),
            ("name", true, true, false, false),
            ("amount", true, true, false, false),
            ("note", true, true, false, false),
        ]
    );
    assert!(rows(&events).is_empty());
}

#[test]
fn rows_and_nbcrows_are_converted_and_inserted_with_identity_and_defaults() {
    let mut s = session();
    create_people(&mut s, "bulk_rows");
    // tiberius's column list: the updatable columns with the declared types
    let events =
        run(&mut s, "INSERT BULK bulk_rows ([k] int, [name] nvarchar(10), [amount] decimal(9,2), [note] nvarchar(20))");
    assert_eq!(last_done(&events), Done { kind: DoneKind::Done, status: 0, cur_cmd: 0xC3, row_count: 0 });
    let message = Message::new(4)
        .column("k", 0, &[0x38]) // INT4: NOT NULL int in its fixed-length form
        .column("name", NULLABLE, &nvarchar_info(10))
        .column("amount", NULLABLE, &[0x6A, 5, 9, 2])
        .column("note", NULLABLE, &nvarchar_info(20))
        .row(&[&7i32.to_le_bytes(), &nvarchar("seven"), &decimal4(-1234), &nvarchar("n7")])
        .nbc_row(&[0b0000_1010], &[&8i32.to_le_bytes(), &decimal4(5)])
        .row(&[&9i32.to_le_bytes(), &NVARCHAR_NULL, &[0], &NVARCHAR_NULL])
        .done();
    let events = load(&mut s, &message);
    assert!(errors(&events).is_empty(), "{events:?}");
    assert_eq!(last_done(&events), Done { kind: DoneKind::Done, status: 0x10, cur_cmd: 0xC3, row_count: 3 });
    let events = run(&mut s, "SELECT id, k, name, amount, note FROM bulk_rows ORDER BY k");
    assert_eq!(
        rows(&events),
        [
            vec![
                Value::Int(1),
                Value::Int(7),
                Value::Str("seven".into()),
                Value::Decimal(-1234, 2),
                Value::Str("n7".into())
            ],
            // NULL without KEEP_NULLS takes the column's default
            vec![Value::Int(2), Value::Int(8), Value::Null, Value::Decimal(5, 2), Value::Str("none".into())],
            vec![Value::Int(3), Value::Int(9), Value::Null, Value::Null, Value::Str("none".into())],
        ]
    );
}

/// A text/ntext/image value as bulk clients send it: TextPointer (16 bytes), Timestamp, then
/// the data with a 4-byte length.
fn text_value(data: &[u8]) -> Vec<u8> {
    let mut v = vec![16];
    v.extend_from_slice(&[0xAB; 16 + 8]);
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn text_columns_name_their_table_in_one_us_varchar() {
    let mut s = session();
    run(&mut s, "CREATE TABLE bulk_text (k INT NOT NULL, doc NTEXT NULL, blob IMAGE NULL)");
    run(&mut s, "INSERT BULK bulk_text ([k] int, [doc] ntext, [blob] image)");
    // After a text type's TYPE_INFO a bulk client names the table in one US_VARCHAR, without the
    // NumParts byte of a result's COLMETADATA (SqlClient, go-mssqldb and tiberius all do).
    let table = [&[9u8, 0][..], &utf16("bulk_text")].concat();
    let ntext_info = [&[0x63u8, 0xFF, 0xFF, 0xFF, 0x7F][..], &COLLATION, &table].concat();
    let image_info = [&[0x22u8, 0xFF, 0xFF, 0xFF, 0x7F][..], &table].concat();
    let message = Message::new(3)
        .column("k", 0, &[0x38])
        .column("doc", NULLABLE, &ntext_info)
        .column("blob", NULLABLE, &image_info)
        .row(&[&1i32.to_le_bytes(), &text_value(&utf16("n\u{e9}e")), &text_value(&[1, 2, 3])])
        .row(&[&2i32.to_le_bytes(), &[0], &[0]]) // an empty TextPointer is NULL
        .done();
    let events = load(&mut s, &message);
    assert!(errors(&events).is_empty(), "{events:?}");
    assert_eq!(
        rows(&run(&mut s, "SELECT k, doc, blob FROM bulk_text ORDER BY k")),
        [
            vec![Value::Int(1), Value::Str("n\u{e9}e".into()), Value::Bytes(vec![1, 2, 3])],
            vec![Value::Int(2), Value::Null, Value::Null],
        ]
    );
}

#[test]
fn keep_nulls_keeps_nulls_and_strings_convert_to_the_columns_types() {
    let mut s = session();
    create_people(&mut s, "bulk_pytds");
    // python-tds without column types: every column sent as nvarchar(4000)
    run(&mut s, "INSERT BULK [bulk_pytds]([k] NVARCHAR(4000) NULL,[amount] NVARCHAR(4000) NULL,[note] NVARCHAR(4000) NULL) WITH (KEEP_NULLS)");
    let message = Message::new(3)
        .column("k", NULLABLE, &nvarchar_info(4000))
        .column("amount", NULLABLE, &nvarchar_info(4000))
        .column("note", NULLABLE, &nvarchar_info(4000))
        .row(&[&nvarchar("42"), &nvarchar("12.35"), &NVARCHAR_NULL])
        .done();
    let events = load(&mut s, &message);
    assert!(errors(&events).is_empty(), "{events:?}");
    let events = run(&mut s, "SELECT k, amount, note, name FROM bulk_pytds");
    assert_eq!(rows(&events), [vec![Value::Int(42), Value::Decimal(1235, 2), Value::Null, Value::Null]]);
    let Some(Event::ColMetadata(cols)) = events.first() else { panic!() };
    assert_eq!(cols[1].ty, SqlType::Decimal { precision: 9, scale: 2 });
}

/// Loads one-column rows of `k` values into a fresh `bulk_errors_*` table; returns the load's events.
fn load_keys(s: &mut Session, table: &str, keys: &[Option<i32>], names: &[&str]) -> Vec<Event> {
    create_people(s, table);
    run(s, &format!("INSERT BULK {table} ([k] int, [name] nvarchar(10))"));
    let mut message = Message::new(2).column("k", NULLABLE, &[0x26, 4]).column("name", NULLABLE, &nvarchar_info(10));
    for (k, name) in keys.iter().zip(names) {
        let key: Vec<u8> = match k {
            Some(k) => [&[4u8][..], &k.to_le_bytes()].concat(),
            None => vec![0],
        };
        message = message.row(&[&key, &nvarchar(name)]);
    }
    load(s, &message.done())
}

fn count(s: &mut Session, table: &str) -> Value {
    rows(&run(s, &format!("SELECT COUNT(*) FROM {table}"))).remove(0).remove(0)
}

/// A load into a fresh table that one of its rows makes fail, and the error it must get.
struct FailingLoad {
    table: &'static str,
    keys: Vec<Option<i32>>,
    names: Vec<&'static str>,
    number: i32,
    message: &'static str,
}

#[test]
fn an_error_in_any_row_loads_none_of_them() {
    let mut s = session();
    let cases = [
        FailingLoad {
            table: "bulk_errors_null",
            keys: vec![Some(1), None],
            names: vec!["a", "b"],
            number: 515,
            message: "Cannot insert the value NULL into column 'k'",
        },
        FailingLoad {
            table: "bulk_errors_dup",
            keys: vec![Some(1), Some(2), Some(1)],
            names: vec!["a", "b", "c"],
            number: 2627,
            message: "Violation of UNIQUE KEY constraint",
        },
        FailingLoad {
            table: "bulk_errors_long",
            keys: vec![Some(1), Some(2)],
            names: vec!["a", "eleven long"],
            number: 2628,
            message: "String or binary data would be truncated",
        },
    ];
    for FailingLoad { table, keys, names, number, message } in cases {
        let events = load_keys(&mut s, table, &keys, &names);
        let errors = errors(&events);
        assert_eq!(errors.len(), 1, "{table}: {events:?}");
        assert_eq!(errors[0].0, number, "{table}: {errors:?}");
        assert!(errors[0].1.starts_with(message), "{table}: {errors:?}");
        assert_eq!(last_done(&events).status & 0x2, 0x2, "DONE_ERROR");
        assert_eq!(count(&mut s, table), Value::Int(0), "{table}: nothing loaded");
    }
}

#[test]
fn a_load_without_insert_bulk_a_malformed_one_and_a_wrong_column_count_are_refused() {
    let mut s = session();
    let message = Message::new(1).column("k", 0, &[0x38]).row(&[&1i32.to_le_bytes()]).done();
    assert_eq!(errors(&load(&mut s, &message))[0].0, 4804);

    create_people(&mut s, "bulk_refused");
    run(&mut s, "INSERT BULK bulk_refused ([k] int)");
    let truncated = &message[..message.len() - 5];
    let events = load(&mut s, truncated);
    assert_eq!(errors(&events)[0].0, 4002, "{events:?}");

    run(&mut s, "INSERT BULK bulk_refused ([k] int, [name] nvarchar(10))");
    assert_eq!(errors(&load(&mut s, &message))[0].0, 4807);
    // the announced load is used up either way
    assert_eq!(errors(&load(&mut s, &message))[0].0, 4804);

    // the rows are read as they are inserted, yet damage after a failing row (NULL into k NOT
    // NULL) is what fails the load, as when the whole message was read first
    run(&mut s, "INSERT BULK bulk_refused ([k] int, [name] nvarchar(10))");
    let failing = Message::new(2)
        .column("k", NULLABLE, &[0x26, 4])
        .column("name", NULLABLE, &nvarchar_info(10))
        .row(&[&[0], &nvarchar("a")])
        .row(&[&[4, 1, 0, 0, 0], &nvarchar("b")])
        .done();
    let events = load(&mut s, &failing[..failing.len() - 5]);
    assert_eq!(errors(&events)[0].0, 4002, "{events:?}");
    assert_eq!(count(&mut s, "bulk_refused"), Value::Int(0));
}

#[test]
fn a_row_failing_among_many_fails_as_it_would_alone() {
    // rows are inserted many to a statement: the duplicate among them is still the one named
    let mut s = session();
    let keys: Vec<Option<i32>> = (1..=100).chain([70]).chain(200..300).map(Some).collect();
    let names = vec!["n"; keys.len()];
    let events = load_keys(&mut s, "bulk_batch_dup", &keys, &names);
    let errors = errors(&events);
    assert_eq!(errors.len(), 1, "{events:?}");
    assert_eq!(errors[0].0, 2627, "{errors:?}");
    assert!(errors[0].1.ends_with("The duplicate key value is (70)."), "{errors:?}");
    assert_eq!(count(&mut s, "bulk_batch_dup"), Value::Int(0));
}

#[test]
fn insert_bulk_names_must_exist() {
    let mut s = session();
    create_people(&mut s, "bulk_names");
    let events = execute_batch(&mut s, "INSERT BULK bulk_missing ([k] int)");
    assert_eq!(errors(&events)[0].0, 208);
    let events = execute_batch(&mut s, "INSERT BULK bulk_names ([nope] int)");
    assert_eq!(errors(&events)[0].0, 207);
}

#[test]
fn a_load_in_a_transaction_rolls_back_with_it() {
    let mut s = session();
    create_people(&mut s, "bulk_tx");
    run(&mut s, "BEGIN TRAN");
    run(&mut s, "INSERT BULK bulk_tx ([k] int)");
    let message =
        Message::new(1).column("k", 0, &[0x38]).row(&[&1i32.to_le_bytes()]).row(&[&2i32.to_le_bytes()]).done();
    assert_eq!(last_done(&load(&mut s, &message)).row_count, 2);
    assert_eq!(count(&mut s, "bulk_tx"), Value::Int(2));
    run(&mut s, "ROLLBACK");
    assert_eq!(count(&mut s, "bulk_tx"), Value::Int(0));
}

/// A million rows in one message; run in release builds (as CI runs the suite), where it takes
/// seconds, while an unoptimized build needs minutes.
#[test]
#[cfg_attr(debug_assertions, ignore = "takes minutes unoptimized; run with --release")]
fn a_million_rows_load_in_one_message() {
    const ROWS: i32 = 1_000_000;
    let mut s = session();
    run(&mut s, "CREATE TABLE bulk_million (k INT NOT NULL PRIMARY KEY, name NVARCHAR(20), amount DECIMAL(9,2))");
    run(&mut s, "INSERT BULK bulk_million ([k] int, [name] nvarchar(20), [amount] decimal(9,2))");
    let mut message = Message::new(3).column("k", 0, &[0x38]).column("name", NULLABLE, &nvarchar_info(20)).column(
        "amount",
        NULLABLE,
        &[0x6A, 5, 9, 2],
    );
    for k in 0..ROWS {
        message = message.row(&[&k.to_le_bytes(), &nvarchar(&format!("name {k}")), &decimal4(k - 500_000)]);
    }
    let message = message.done();
    let started = std::time::Instant::now();
    let events = load(&mut s, &message);
    let elapsed = started.elapsed();
    eprintln!("engine bulk load: {ROWS} rows in {elapsed:?} ({:.0} rows/s)", ROWS as f64 / elapsed.as_secs_f64());
    assert_eq!(last_done(&events).row_count, ROWS as u64, "{:?}", errors(&events));
    let events = run(&mut s, "SELECT COUNT(*), MIN(amount), MAX(name) FROM bulk_million");
    assert_eq!(
        rows(&events),
        [vec![Value::Int(ROWS as i64), Value::Decimal(-500_000, 2), Value::Str("name 999999".into())]]
    );
}
