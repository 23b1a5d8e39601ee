//! Byte streams handed to the driver in place of its TCP socket: one that
//! records what the server sent, one that replays it from memory.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Passes everything through to `inner`, appending every byte read (the
/// server's side of the conversation) to `log`.
pub struct Recording<S> {
    inner: S,
    log: Arc<Mutex<Vec<u8>>>,
}

impl<S> Recording<S> {
    pub fn new(inner: S, log: Arc<Mutex<Vec<u8>>>) -> Self {
        Self { inner, log }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.log.lock().expect("recording log").extend_from_slice(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Server responses waiting to be read, shared between the benchmark (which
/// queues the response to the request it is about to make) and the stream.
#[derive(Clone, Default)]
pub struct ReplayQueue(Arc<Mutex<VecDeque<Arc<[u8]>>>>);

impl ReplayQueue {
    pub fn push(&self, response: Arc<[u8]>) {
        self.0.lock().expect("replay queue").push_back(response);
    }
}

/// Serves queued responses to the client's reads, in order, and discards
/// whatever the client writes. Reading past the queued bytes is an error,
/// never a wait.
pub struct Replay {
    queue: ReplayQueue,
    current: Arc<[u8]>,
    position: usize,
}

impl Replay {
    pub fn new(queue: ReplayQueue) -> Self {
        Self { queue, current: Arc::from(Vec::new()), position: 0 }
    }
}

impl AsyncRead for Replay {
    fn poll_read(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.position == this.current.len() {
            match this.queue.0.lock().expect("replay queue").pop_front() {
                Some(next) => {
                    this.current = next;
                    this.position = 0;
                }
                None => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client read past the recorded server responses",
                    )))
                }
            }
        }
        let count = buf.remaining().min(this.current.len() - this.position);
        buf.put_slice(&this.current[this.position..this.position + count]);
        this.position += count;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
