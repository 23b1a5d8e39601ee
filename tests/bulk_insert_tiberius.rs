//! tiberius's `bulk_insert` against the local TDS server (started in-process): the metadata
//! query, `INSERT BULK` and the BulkLoad message of 100,000 rows, which read back exactly.

use std::time::{Duration, Instant};

use tds_server::server::{DEFAULT_PASSWORD, DEFAULT_USER};
use tds_server::{TestServer, TestServerConfig};
use tiberius::numeric::Numeric;
use tiberius::time::chrono::{NaiveDate, NaiveDateTime};
use tiberius::{AuthMethod, Client, Config, EncryptionLevel, IntoSql, TokenRow};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

const ROWS: i64 = 100_000;
/// Generous for a debug build on a shared 2-core machine; the load itself takes seconds.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

async fn connect(server: &TestServer) -> Client<Compat<TcpStream>> {
    let mut config = Config::new();
    config.host("127.0.0.1");
    config.port(server.addr().port());
    config.authentication(AuthMethod::sql_server(DEFAULT_USER, DEFAULT_PASSWORD));
    config.encryption(EncryptionLevel::NotSupported);
    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    Client::connect(config, tcp.compat_write()).await.expect("login")
}

/// The values loaded into one row of `bulk_tiberius` (all columns but the identity).
struct RowValues {
    k: i64,
    name: Option<String>,
    amount: Option<i128>,
    at: Option<NaiveDateTime>,
    flag: bool,
    data: Option<Vec<u8>>,
}

/// The values of row `i`: some NULLs, negative amounts, non-ASCII text and 100 ns instants.
fn expected(i: i64) -> RowValues {
    let name = (i % 7 != 0).then(|| format!("n\u{e9}\u{4e2d}-{i}"));
    let amount = (i % 5 != 0).then(|| (i as i128 * 10_007 - 300_000_000) * if i % 2 == 0 { 1 } else { -1 });
    let at = (i % 3 != 0).then(|| {
        NaiveDate::from_ymd_opt(2000 + (i % 100) as i32, 1 + (i % 12) as u32, 1 + (i % 28) as u32)
            .expect("valid date")
            .and_hms_nano_opt((i % 24) as u32, (i % 60) as u32, (i % 60) as u32, (i % 10_000_000) as u32 * 100)
            .expect("valid time")
    });
    let data = (i % 11 != 0).then(|| (i as u32).to_le_bytes().repeat(1 + (i % 4) as usize));
    RowValues { k: i, name, amount, at, flag: i % 2 == 0, data }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_insert_loads_100000_rows_that_read_back_exactly() {
    let server = TestServer::start(TestServerConfig::default()).expect("server starts");
    tokio::time::timeout(TEST_TIMEOUT, async {
        let mut client = connect(&server).await;
        client
            .execute(
                "CREATE TABLE bulk_tiberius (id INT IDENTITY(1,1) PRIMARY KEY, k BIGINT NOT NULL, \
                 name NVARCHAR(40) NULL, amount DECIMAL(18,4) NULL, at DATETIME2(7) NULL, flag BIT NOT NULL, \
                 data VARBINARY(16) NULL)",
                &[],
            )
            .await
            .expect("create");
        let started = Instant::now();
        let mut request = client.bulk_insert("bulk_tiberius").await.expect("INSERT BULK");
        for i in 0..ROWS {
            let RowValues { k, name, amount, at, flag, data } = expected(i);
            let mut row = TokenRow::new();
            row.push(k.into_sql());
            row.push(name.into_sql());
            row.push(amount.map(|a| Numeric::new_with_scale(a, 4)).into_sql());
            row.push(at.into_sql());
            row.push(flag.into_sql());
            row.push(data.into_sql());
            request.send(row).await.expect("send row");
        }
        let result = request.finalize().await.expect("finalize");
        let load_time = started.elapsed();
        assert_eq!(result.total(), ROWS as u64);
        eprintln!(
            "tiberius bulk_insert: {ROWS} rows in {load_time:?} ({:.0} rows/s)",
            ROWS as f64 / load_time.as_secs_f64()
        );

        let rows = client
            .query("SELECT id, k, name, amount, at, flag, data FROM bulk_tiberius ORDER BY k", &[])
            .await
            .expect("select")
            .into_first_result()
            .await
            .expect("rows");
        assert_eq!(rows.len(), ROWS as usize);
        for (i, row) in rows.iter().enumerate() {
            let RowValues { k, name, amount, at, flag, data } = expected(i as i64);
            let read = (
                row.get::<i32, _>(0).expect("id"),
                row.get::<i64, _>(1).expect("k"),
                row.get::<&str, _>(2).map(str::to_string),
                row.get::<Numeric, _>(3).map(|n| (n.value(), n.scale())),
                row.get::<NaiveDateTime, _>(4),
                row.get::<bool, _>(5).expect("flag"),
                row.get::<&[u8], _>(6).map(<[u8]>::to_vec),
            );
            // the identity counts from 1 in load order
            assert_eq!(read, (i as i32 + 1, k, name, amount.map(|a| (a, 4)), at, flag, data), "row {i}");
        }
    })
    .await
    .expect("the test finishes in time");
}
