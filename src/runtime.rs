//! The single tokio runtime behind every connection.
//!
//! Created lazily on first use, rebuilt when the process id changes (a child
//! after `fork()` inherits the runtime's memory but none of its threads) and
//! shut down at interpreter exit.

use parking_lot::Mutex;
use std::time::Duration;
use tokio::runtime::{Builder, Handle, Runtime};

struct OwnedRuntime {
    pid: u32,
    runtime: Runtime,
}

static RUNTIME: Mutex<Option<OwnedRuntime>> = Mutex::new(None);

fn build() -> std::io::Result<Runtime> {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    Builder::new_multi_thread()
        // Few workers: less work-stealing contention at high request rates.
        .worker_threads((cpus / 2).clamp(1, 8))
        // Surge capacity for blocking work (DNS lookups run there).
        .max_blocking_threads((cpus * 32).min(512))
        .thread_keep_alive(Duration::from_secs(900))
        .thread_stack_size(4 * 1024 * 1024)
        .global_queue_interval(7)
        .event_interval(13)
        .thread_name("fastmssql-worker")
        .enable_all()
        .build()
}

/// A handle to the runtime of this process, creating it when needed.
pub fn handle() -> std::io::Result<Handle> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock();
    if let Some(owned) = slot.as_ref() {
        if owned.pid == pid {
            return Ok(owned.runtime.handle().clone());
        }
        // Inherited from the parent across fork(): its threads do not exist
        // here, so dropping it would wait for them forever. Leak it instead.
        if let Some(stale) = slot.take() {
            std::mem::forget(stale);
        }
    }
    let runtime = build()?;
    let handle = runtime.handle().clone();
    *slot = Some(OwnedRuntime { pid, runtime });
    Ok(handle)
}

/// Stops the runtime (interpreter exit), giving running tasks a moment to
/// finish dropping.
pub fn shutdown() {
    let taken = RUNTIME.lock().take();
    if let Some(owned) = taken {
        if owned.pid == std::process::id() {
            owned.runtime.shutdown_timeout(Duration::from_secs(1));
        } else {
            std::mem::forget(owned);
        }
    }
}

/// A runtime for one synchronous connection: its sockets are driven by the
/// thread that waits on it (`block_on`), so a request and its answer cost no
/// hand-off between threads, as in a blocking driver.
pub fn thread_driven() -> std::io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

/// The id of this process, used by pools to notice they were inherited by a fork.
pub fn current_pid() -> u32 {
    std::process::id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_futures_run_and_shutdown_allows_a_new_runtime() {
        let runtime = handle().unwrap();
        let answer = runtime.block_on(runtime.spawn(async { 41 + 1 })).unwrap();
        assert_eq!(answer, 42);
        shutdown();
        assert!(RUNTIME.lock().is_none());
        let runtime = handle().unwrap();
        let again = runtime.block_on(runtime.spawn(async { 7 })).unwrap();
        assert_eq!(again, 7);
    }
}
