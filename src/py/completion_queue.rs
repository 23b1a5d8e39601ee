//! Outcomes of the asyncio API handed to the event loop in batches.
//!
//! A request runs as a task on a tokio worker, which must not take the GIL:
//! a worker waiting for it stalls every other connection, and each hand-off
//! is a thread switch. The task pushes its outcome, still a Rust value, onto
//! the queue of its event loop; the first push into an empty queue writes one
//! byte to a socket the loop watches (`add_reader`). The loop thread then
//! turns every queued outcome into Python objects and resolves its future:
//! one wake-up per batch of finished requests, all conversion on the loop.

use parking_lot::Mutex;
use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::RefCell;
use std::sync::Arc;

/// Resolves one future; run on the loop's thread with the GIL held.
pub(crate) type Delivery = Box<dyn FnOnce(Python<'_>) + Send>;

/// How a push wakes the loop.
enum Wake {
    /// One byte on a socket the loop reads (selector event loops, uvloop).
    #[cfg(unix)]
    Socket { write: std::os::unix::net::UnixStream, read: std::os::unix::net::UnixStream },
    /// `call_soon_threadsafe`, for loops without `add_reader` (Windows' proactor).
    Threadsafe,
}

/// The deliveries waiting for one event loop.
pub(crate) struct Completions {
    pending: Mutex<Vec<Delivery>>,
    wake: Wake,
    event_loop: Py<PyAny>,
    /// The process that made it: a forked child must not read the parent's wake-ups.
    pid: u32,
}

/// The loop's callback that runs the queued deliveries.
#[pyclass(module = "fastmssql", frozen)]
pub(crate) struct CompletionQueue(Arc<Completions>);

thread_local! {
    /// The queue of the event loop last running in this thread.
    static CURRENT: RefCell<Option<(Py<PyAny>, Arc<Completions>)>> = const { RefCell::new(None) };
}

fn get_running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    GET_RUNNING_LOOP.import(py, "asyncio", "get_running_loop")?.call0()
}

impl Completions {
    /// The running event loop and its queue (made and registered on first use).
    pub(crate) fn current(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Arc<Completions>)> {
        let event_loop = get_running_loop(py)?;
        let pid = std::process::id();
        let cached = CURRENT.with_borrow(|current| match current {
            Some((cached_loop, queue)) if cached_loop.is(&event_loop) && queue.pid == pid => Some(queue.clone()),
            _ => None,
        });
        if let Some(queue) = cached {
            return Ok((event_loop, queue));
        }
        let queue = Self::register(&event_loop)?;
        CURRENT.set(Some((event_loop.clone().unbind(), queue.clone())));
        Ok((event_loop, queue))
    }

    fn new(event_loop: &Bound<'_, PyAny>, wake: Wake) -> Arc<Self> {
        Arc::new(Self {
            pending: Mutex::new(Vec::new()),
            wake,
            event_loop: event_loop.clone().unbind(),
            pid: std::process::id(),
        })
    }

    #[cfg(unix)]
    fn register(event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Self>> {
        use std::os::fd::AsRawFd;
        let (read, write) = std::os::unix::net::UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let fd = read.as_raw_fd();
        let queue = Self::new(event_loop, Wake::Socket { write, read });
        // The loop keeps the queue alive through its reader callback.
        match event_loop.call_method1("add_reader", (fd, CompletionQueue(queue.clone()))) {
            Ok(_) => Ok(queue),
            Err(e) if e.is_instance_of::<PyNotImplementedError>(event_loop.py()) => {
                Ok(Self::new(event_loop, Wake::Threadsafe))
            }
            Err(e) => Err(e),
        }
    }

    #[cfg(not(unix))]
    fn register(event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Self>> {
        Ok(Self::new(event_loop, Wake::Threadsafe))
    }

    /// Queues `delivery` (from any thread, without the GIL) and wakes the
    /// loop if nothing was queued yet.
    pub(crate) fn push(self: &Arc<Self>, delivery: Delivery) {
        let was_empty = {
            let mut pending = self.pending.lock();
            pending.push(delivery);
            pending.len() == 1
        };
        if !was_empty {
            return;
        }
        match &self.wake {
            #[cfg(unix)]
            Wake::Socket { write, .. } => {
                use std::io::Write;
                // Full only while earlier wake-ups are unread: the loop reads them.
                let _ = (&*write).write(&[1]);
            }
            Wake::Threadsafe => Python::attach(|py| {
                // Fails only once the loop is closed: nothing can await its futures then.
                let _ = self.event_loop.call_method1(py, "call_soon_threadsafe", (CompletionQueue(self.clone()),));
            }),
        }
    }

    /// Runs every queued delivery, on the loop's thread.
    fn run(&self, py: Python<'_>) -> PyResult<()> {
        #[cfg(unix)]
        if let Wake::Socket { read, .. } = &self.wake {
            use std::io::Read;
            use std::os::fd::AsRawFd;
            if self.pid != std::process::id() {
                // Inherited by fork(): the wake-ups are the parent's.
                self.event_loop.call_method1(py, "remove_reader", (read.as_raw_fd(),))?;
                return Ok(());
            }
            // Read the wake-ups before taking the batch: a push after the
            // take finds the queue empty and writes a new one.
            let mut buffer = [0u8; 64];
            while matches!((&*read).read(&mut buffer), Ok(n) if n > 0) {}
        }
        let batch = std::mem::take(&mut *self.pending.lock());
        for delivery in batch {
            delivery(py);
        }
        Ok(())
    }
}

#[pymethods]
impl CompletionQueue {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        self.0.run(py)
    }
}
