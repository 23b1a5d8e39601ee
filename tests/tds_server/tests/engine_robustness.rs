//! Malformed SQL text and RPC parameter bytes get an answer (or a decoding error),
//! never a panic: pseudo-random inputs built from SQL fragments and raw bytes.

use tds_server::engine::{execute_batch, execute_rpc, Event, RpcParam, RpcRequest, RpcTarget, Session};
use tds_server::types::{read_type_info, read_value, SqlType};
use tds_server::value::Value;

/// A small deterministic generator (64-bit LCG), so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    "SELECT",
    "CAST(",
    "CONVERT(",
    "AS",
    ")",
    "(",
    ",",
    ";",
    "-",
    "+",
    "*",
    "@P1",
    "@@VERSION",
    "NULL",
    "'",
    "N'",
    "'2024-02-29 23:59:59.9999999 +14:00'",
    "'10:00 😀'",
    "'abc'",
    "N'😀'",
    "0x",
    "0xABC",
    "1.5E308",
    "1E",
    "$",
    "$.",
    "99999999999999999999999999999999999999",
    "123456789012345678901234567890123456789",
    "0.",
    ".5",
    "int",
    "tinyint",
    "decimal(38,38)",
    "decimal(39,0)",
    "varchar(max)",
    "nvarchar(0)",
    "char(9000)",
    "time(8)",
    "datetime2(7)",
    "datetimeoffset",
    "smalldatetime",
    "datetime",
    "date",
    "money",
    "smallmoney",
    "real",
    "float(54)",
    "bit",
    "uniqueidentifier",
    "xml",
    "sql_variant",
    "text",
    "ntext",
    "image",
    "binary(2)",
    "varbinary",
    "SET",
    "NOCOUNT",
    "ON",
    "TEXTSIZE",
    "1",
    "USE",
    "[tempdb]",
    "WAITFOR",
    "DELAY",
    "'00:00:00.001'",
    "BEGIN",
    "TRAN",
    "COMMIT",
    "ROLLBACK",
    "/*",
    "*/",
    "--",
    "\n",
    "[",
    "]",
    "\"",
    "é",
    "'<a x=\"1\">t</a>'",
    "'{6F9619FF-8B86-D011-B42D-00C04FC964FF}'",
    "FROM",
    "x",
    "=",
];

fn session() -> Session {
    Session::new(60, "sa", "master", "fastmssql-test")
}

fn random_sql(rng: &mut Lcg) -> String {
    let n = 1 + rng.below(14);
    (0..n).map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())]).collect::<Vec<_>>().join(" ")
}

#[test]
fn random_batches_always_end_with_a_done() {
    let mut rng = Lcg(0x5eed);
    let mut s = session();
    for _ in 0..20_000 {
        let sql = random_sql(&mut rng);
        let events = execute_batch(&mut s, &sql);
        // every answered statement ends in a DONE; a WAITFOR's Delay is followed by one too
        assert!(events.is_empty() || matches!(events.last(), Some(Event::Done(_))), "{sql:?} -> {events:?}");
        if events.iter().any(|e| matches!(e, Event::Error(_))) {
            assert!(matches!(events.last(), Some(Event::Done(d)) if d.status & 0x2 != 0), "{sql:?} -> {events:?}");
        }
    }
}

#[test]
fn random_sp_executesql_calls_are_answered() {
    let mut rng = Lcg(0xfeed);
    let mut s = session();
    let values = [
        (SqlType::Int, Value::Int(7)),
        (SqlType::NVarChar(Some(10)), Value::Str("2024-01-01".into())),
        (SqlType::VarBinary(Some(2)), Value::Bytes(vec![1, 2])),
        (SqlType::Float, Value::Float(f64::MAX)),
        (SqlType::Decimal { precision: 38, scale: 38 }, Value::Decimal(-1, 38)),
    ];
    for _ in 0..5_000 {
        let statement = random_sql(&mut rng);
        let declarations = random_sql(&mut rng).replace("SELECT", "@P1");
        let (ty, value) = values[rng.below(values.len())].clone();
        let params = vec![
            RpcParam { name: String::new(), status: 0, ty: SqlType::NVarChar(None), value: Value::Str(statement) },
            RpcParam { name: String::new(), status: 0, ty: SqlType::NVarChar(None), value: Value::Str(declarations) },
            RpcParam { name: "@P1".into(), status: rng.below(2) as u8, ty, value },
        ];
        let rpc = RpcRequest { target: RpcTarget::ProcId(10 + rng.below(6) as u16), option_flags: 0, params };
        let events = execute_rpc(&mut s, &rpc);
        assert!(matches!(events.last(), Some(Event::Done(_))), "{rpc:?} -> {events:?}");
    }
}

#[test]
fn random_parameter_bytes_decode_or_fail_cleanly() {
    let mut rng = Lcg(0xbeef);
    let type_starts: [&[u8]; 12] = [
        &[0x26, 4],
        &[0x6A, 0x11, 38, 2],
        &[0xE7, 0xFF, 0xFF, 9, 4, 0xD0, 0, 0x34],
        &[0xA7, 0x40, 0x1F, 9, 4, 0xD0, 0, 0x34],
        &[0xA5, 0xFF, 0xFF],
        &[0x2B, 7],
        &[0x29, 3],
        &[0x28],
        &[0x62, 0x49, 0x1F, 0, 0],
        &[0x6F, 8],
        &[0xF1, 0],
        &[0x24, 16],
    ];
    for _ in 0..50_000 {
        let mut bytes = type_starts[rng.below(type_starts.len())].to_vec();
        let extra = rng.below(40);
        bytes.extend((0..extra).map(|_| rng.next() as u8));
        let mut buf = &bytes[..];
        if let Ok(ty) = read_type_info(&mut buf) {
            let _ = read_value(&mut buf, &ty);
        }
        // fully random bytes too
        let raw: Vec<u8> = (0..rng.below(24)).map(|_| rng.next() as u8).collect();
        let mut buf = &raw[..];
        if let Ok(ty) = read_type_info(&mut buf) {
            let _ = read_value(&mut buf, &ty);
        }
    }
}
