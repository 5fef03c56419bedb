//! The fixed set of buffers the live stream's ring keeps its pieces in.
//!
//! Every buffer is allocated and written once, when the server starts, and
//! goes back to the pool when the last client has sent the piece it held. So
//! the ring's memory is resident from the start and stays the same whatever
//! the clients do: a client that stops reading fills the ring, not the heap,
//! and is cut when the ring laps it.

use std::sync::{Arc, Mutex};

use tungstenite::Bytes;

/// Bytes per buffer: the largest piece (see `broadcast::PIECE`).
const BUFFER: usize = super::broadcast::PIECE;

pub(crate) struct PiecePool {
    free: Mutex<Vec<Vec<u8>>>,
    /// Buffers the pool owns; one freed while the pool is full is dropped.
    buffers: usize,
}

impl PiecePool {
    /// `buffers` buffers, each written through so it is resident now.
    pub(crate) fn new(buffers: usize) -> Arc<PiecePool> {
        let free = (0..buffers)
            .map(|_| {
                // Not zeros: an allocator may hand out zero pages it never
                // touched, which would only become resident later.
                let mut buf = vec![b' '; BUFFER];
                buf.clear();
                buf
            })
            .collect();
        Arc::new(PiecePool {
            free: Mutex::new(free),
            buffers,
        })
    }

    /// `piece` (valid UTF-8, at most a buffer long) in a buffer of the pool,
    /// or, while every buffer is in use (the ring holds many small pieces, or
    /// clients are still sending old ones), in one of its own size.
    pub(crate) fn piece(self: &Arc<Self>, piece: &[u8]) -> Bytes {
        debug_assert!(piece.len() <= BUFFER);
        let mut buf = self
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(piece.len()));
        buf.extend_from_slice(piece);
        Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        })
    }

    #[cfg(test)]
    fn free(&self) -> usize {
        self.free.lock().unwrap().len()
    }
}

/// A buffer on loan to a piece; back to the pool when the piece is dropped.
struct Pooled {
    buf: Vec<u8>,
    pool: Arc<PiecePool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut free = self.pool.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.pool.buffers && buf.capacity() >= BUFFER {
            free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_borrow_buffers_and_give_them_back() {
        let pool = PiecePool::new(2);
        let a = pool.piece(b"first");
        let b = pool.piece(b"second");
        assert_eq!(pool.free(), 0);
        assert_eq!(&a[..], b"first");
        assert_eq!(&b[..], b"second");
        // All in use: a third piece gets a buffer of its own size...
        let c = pool.piece(b"third");
        let sent = c.clone();
        drop(c);
        assert_eq!(pool.free(), 0, "a clone is still being sent");
        drop(sent);
        assert_eq!(pool.free(), 0, "a small buffer is not kept");
        drop(a);
        assert_eq!(pool.free(), 1);
        drop(b);
        assert_eq!(pool.free(), 2);
        assert_eq!(&pool.piece(b"again")[..], b"again");
    }
}
