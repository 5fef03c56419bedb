//! The live stream's one buffer, shared by all websocket clients (K2, K3).
//!
//! The background writer's output is copied once into a ring of pieces (whole
//! events, at most [`PIECE`] bytes each); every client sends from its own
//! position in the ring, after its own C6 head. A piece leaves the ring as
//! soon as every client has taken it, so clients that keep up cost almost
//! nothing. The ring holds at most `capacity` bytes: when a new piece would
//! pass that, the oldest piece goes anyway, and a client that had not taken it
//! yet is *lapped*: it is disconnected ([`FellBehind`], close code 1008), and
//! the events it never got are counted (M3). It never gets a stream with
//! holes, so what it received stays balanced.
//!
//! Memory for live clients is thus `capacity`, however many clients there are
//! and however slow they are, plus per client its C6 head until sent and the
//! piece its socket is sending. The pieces live in a [`PiecePool`] of
//! `capacity / PIECE` buffers allocated when the ring is made, so at the
//! rates where a client falls behind (full pieces) that memory is resident
//! from the start and a client that stops reading does not make it grow.
//! Small pieces that find the pool empty get buffers of their own size, still
//! within `capacity`.
//!
//! Which of a ring's clients copies a chunk in: the writer hands every
//! consumer the same bytes in the same order, so each client's [`Feed`]
//! counts the bytes it was given (`seen`); the first feed to see a chunk finds
//! `seen` equal to the ring's `written` and appends it, the others find it
//! there already.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tungstenite::Bytes;

use super::piece_pool::PiecePool;
use super::websocket::End;
use crate::consumer::{Detached, FellBehind};
use crate::metrics::STATS;
use crate::Consumer;

/// Largest piece (one websocket message) unless a single event is longer:
/// small enough that a client's socket holds little of it while stuck, large
/// enough that framing and wake-ups cost nothing per event.
pub(crate) const PIECE: usize = 16 << 10;

/// One piece of the stream, sent as one websocket frame. Each chunk the
/// writer hands over (and each head) is one message of one or more frames,
/// so a client that stops between two messages (`actrace attach --duration`)
/// stops where the writer did, never inside a chunk (say between a flow's
/// start and its end, written together).
#[derive(Clone, Debug)]
pub(crate) struct Piece {
    pub(crate) bytes: Bytes,
    /// The first frame of its message (the others are continuations).
    pub(crate) first: bool,
    /// The last frame of its message.
    pub(crate) last: bool,
}

/// A ring of encoded stream pieces and the clients reading it.
pub(crate) struct Broadcast {
    state: Mutex<State>,
    ready: Condvar,
    capacity: usize,
    pool: Arc<PiecePool>,
}

struct State {
    pieces: VecDeque<Piece>,
    /// Sequence number of `pieces[0]`.
    first: u64,
    /// Bytes in `pieces`.
    held: usize,
    /// Bytes of the live stream that reached this ring's feeds so far.
    written: u64,
    clients: Vec<Client>,
    next_id: u64,
}

struct Client {
    id: u64,
    /// The C6 head, sent before any ring piece.
    head: VecDeque<Piece>,
    /// Sequence number of the next ring piece to send; `None` before the
    /// head arrived and once the client ended.
    next: Option<u64>,
    /// Bytes of the live stream this client's feed was given.
    seen: u64,
    end: End,
    reader_gone: bool,
    feed_gone: bool,
    /// Extra wake-up for clients not driven by a thread (the axum handler).
    wake: Option<Box<dyn Fn() + Send + Sync>>,
}

impl State {
    fn end_seq(&self) -> u64 {
        self.first + self.pieces.len() as u64
    }

    fn client(&mut self, id: u64) -> Option<&mut Client> {
        self.clients.iter_mut().find(|c| c.id == id)
    }

    fn status(&self, id: u64) -> End {
        self.clients
            .iter()
            .find(|c| c.id == id)
            .map_or(End::ClientGone, |c| c.end)
    }

    /// Drops the pieces every client has taken.
    fn trim(&mut self) {
        let keep_from = self
            .clients
            .iter()
            .filter_map(|c| c.next)
            .min()
            .unwrap_or_else(|| self.end_seq());
        while self.first < keep_from {
            let Some(piece) = self.pieces.pop_front() else {
                break;
            };
            self.held -= piece.bytes.len();
            self.first += 1;
        }
    }

    /// Removes the oldest piece although some clients still need it: they
    /// are lapped. `rest` is the part of the chunk being appended that is not
    /// in the ring yet (they miss it too).
    fn evict_oldest(&mut self, capacity: usize, rest: &[u8]) {
        let oldest = self.first;
        let State {
            pieces,
            clients,
            first,
            ..
        } = self;
        for c in clients.iter_mut() {
            let Some(next) = c.next.filter(|&n| n <= oldest) else {
                continue;
            };
            let missed = c.head.iter().map(|p| count_events(&p.bytes)).sum::<u64>()
                + pieces
                    .iter()
                    .skip((next - *first) as usize)
                    .map(|p| count_events(&p.bytes))
                    .sum::<u64>()
                + count_events(rest);
            let fb = FellBehind {
                limit_bytes: capacity,
                dropped_events: missed,
            };
            c.end = End::FellBehind(fb);
            c.next = None;
            c.head = VecDeque::new();
            STATS.dropped("websocket", missed);
        }
        if let Some(piece) = self.pieces.pop_front() {
            self.held -= piece.bytes.len();
            self.first += 1;
        }
    }
}

impl Broadcast {
    /// A ring holding at most `capacity` bytes of stream.
    pub(crate) fn new(capacity: usize) -> Arc<Broadcast> {
        Arc::new(Broadcast {
            state: Mutex::new(State {
                pieces: VecDeque::new(),
                first: 0,
                held: 0,
                written: 0,
                clients: Vec::new(),
                next_id: 0,
            }),
            ready: Condvar::new(),
            capacity,
            pool: PiecePool::new((capacity / PIECE).max(1)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes the client threads and the async clients.
    fn notify(&self, st: &State) {
        self.ready.notify_all();
        for c in &st.clients {
            if let Some(wake) = &c.wake {
                wake();
            }
        }
    }

    /// A new client: its reading side, and the consumer to attach to the
    /// writer (which gives it its head first).
    pub(crate) fn join(
        self: &Arc<Self>,
        peer: String,
        wake: Option<Box<dyn Fn() + Send + Sync>>,
    ) -> (Reader, Feed) {
        let mut st = self.lock();
        let id = st.next_id;
        st.next_id += 1;
        st.clients.push(Client {
            id,
            head: VecDeque::new(),
            next: None,
            seen: 0,
            end: End::Open,
            reader_gone: false,
            feed_gone: false,
            wake,
        });
        drop(st);
        (
            Reader {
                hub: self.clone(),
                id,
            },
            Feed {
                hub: self.clone(),
                id,
                peer,
                started: false,
            },
        )
    }

    /// Bytes held in the ring now (at most the capacity, plus one piece
    /// while it is being appended).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().held
    }

    /// Clients known to the ring now.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.lock().clients.len()
    }

    /// Writer side: the client's head (C6); its live stream starts here.
    fn head(&self, id: u64, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        let (end_seq, written) = (st.end_seq(), st.written);
        let c = st.client(id).ok_or_else(|| io::Error::other(Detached))?;
        if c.end != End::Open {
            return Err(end_error(c.end));
        }
        c.head = split(bytes);
        c.next = Some(end_seq);
        c.seen = written;
        self.notify(&st);
        Ok(())
    }

    /// Writer side: the next bytes of the live stream, as given to client
    /// `id`'s feed.
    fn live(&self, id: u64, bytes: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        let written = st.written;
        let c = st.client(id).ok_or_else(|| io::Error::other(Detached))?;
        if !matches!(c.end, End::Open | End::Finished) {
            return Err(end_error(c.end));
        }
        let seen = c.seen;
        c.seen += bytes.len() as u64;
        // The part no other feed has appended (all of it for the first feed
        // to see this chunk, none for the others).
        let fresh = (seen + bytes.len() as u64).saturating_sub(written) as usize;
        if fresh > 0 {
            self.append(&mut st, &bytes[bytes.len() - fresh..]);
        }
        match st.status(id) {
            End::Open | End::Finished => Ok(()),
            other => Err(end_error(other)),
        }
    }

    fn append(&self, st: &mut State, bytes: &[u8]) {
        st.written += bytes.len() as u64;
        st.trim();
        if st.clients.iter().all(|c| c.next.is_none()) {
            // Nobody is reading the live stream (yet): keep nothing.
            return;
        }
        let mut rest = bytes;
        let mut first = true;
        while !rest.is_empty() {
            let (piece, after) = rest.split_at(next_cut(rest));
            rest = after;
            st.held += piece.len();
            st.pieces.push_back(Piece {
                bytes: self.pooled(piece),
                first,
                last: rest.is_empty(),
            });
            first = false;
            while st.held > self.capacity {
                st.evict_oldest(self.capacity, rest);
            }
        }
        // Pieces only lapped clients still pointed at go now.
        st.trim();
        self.notify(st);
    }

    /// A piece of the live stream, in a buffer of the ring's pool unless it is
    /// an event longer than a buffer.
    fn pooled(&self, piece: &[u8]) -> Bytes {
        if piece.len() <= PIECE && std::str::from_utf8(piece).is_ok() {
            self.pool.piece(piece)
        } else {
            utf8(piece)
        }
    }

    /// Writer side: the stream ended cleanly (the closing bytes are in).
    fn finish(&self, id: u64) {
        let mut st = self.lock();
        if let Some(c) = st.client(id) {
            if c.end == End::Open {
                c.end = End::Finished;
            }
        }
        self.notify(&st);
    }

    /// Writer side: the feed was removed (for any reason).
    fn feed_gone(&self, id: u64) {
        let mut st = self.lock();
        if let Some(c) = st.client(id) {
            c.feed_gone = true;
            // The reader must not wait for data that will never come.
            if c.end == End::Open {
                c.end = End::Finished;
            }
        }
        st.clients.retain(|c| !(c.feed_gone && c.reader_gone));
        st.trim();
        self.notify(&st);
    }

    /// Writer side: the client's state, as an error if it ended.
    fn check(&self, id: u64) -> io::Result<()> {
        match self.lock().status(id) {
            End::Open | End::Finished => Ok(()),
            other => Err(end_error(other)),
        }
    }

    /// The server stops: every client is closed.
    pub(crate) fn stop_all(&self) {
        let mut st = self.lock();
        for c in st.clients.iter_mut() {
            if c.end == End::Open {
                c.end = End::ServerStopping;
            }
        }
        self.notify(&st);
    }
}

/// The error a feed returns once its client ended.
fn end_error(end: End) -> io::Error {
    match end {
        End::FellBehind(fb) => io::Error::other(fb),
        _ => io::Error::other(Detached),
    }
}

/// A client's reading side (its connection's thread or task). Dropping it
/// leaves the ring.
pub(crate) struct Reader {
    hub: Arc<Broadcast>,
    id: u64,
}

impl Reader {
    /// The next piece to send (the head's first), and how the stream stands.
    /// Waits up to `wait` while there is nothing to send.
    pub(crate) fn take(&self, wait: Duration) -> (Option<Piece>, End) {
        let mut st = self.hub.lock();
        let mut waited = wait.is_zero();
        loop {
            let (first, end_seq) = (st.first, st.end_seq());
            let Some(c) = st.client(self.id) else {
                return (None, End::ClientGone);
            };
            if let Some(piece) = c.head.pop_front() {
                if c.head.is_empty() {
                    // Its memory goes now, not with the client.
                    c.head = VecDeque::new();
                }
                return (Some(piece), c.end);
            }
            if let Some(next) = c.next.filter(|&n| n < end_seq) {
                c.next = Some(next + 1);
                let end = c.end;
                let piece = st.pieces[(next - first) as usize].clone();
                if next == first {
                    st.trim();
                }
                return (Some(piece), end);
            }
            if c.end != End::Open || waited {
                return (None, c.end);
            }
            st = self
                .hub
                .ready
                .wait_timeout(st, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            waited = true;
        }
    }

    /// How the stream stands, leaving what is to send in place.
    pub(crate) fn end(&self) -> End {
        self.hub.lock().status(self.id)
    }

    /// Whether there is something left to send.
    pub(crate) fn has_more(&self) -> bool {
        let mut st = self.hub.lock();
        let end_seq = st.end_seq();
        st.client(self.id)
            .is_some_and(|c| !c.head.is_empty() || c.next.is_some_and(|n| n < end_seq))
    }

    /// The client went away or was closed: it stops holding ring pieces.
    pub(crate) fn leave(&self) {
        let mut st = self.hub.lock();
        if let Some(c) = st.client(self.id) {
            c.reader_gone = true;
            c.head = VecDeque::new();
            c.next = None;
            c.wake = None;
            if matches!(c.end, End::Open | End::Finished) {
                c.end = End::ClientGone;
            }
        }
        st.clients.retain(|c| !(c.feed_gone && c.reader_gone));
        st.trim();
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.leave();
    }
}

/// A client's side of the background writer: a [`Consumer`] whose first
/// write is the client's head and the others the live stream, appended to the
/// ring by whichever feed sees them first. Never waits.
pub(crate) struct Feed {
    hub: Arc<Broadcast>,
    id: u64,
    peer: String,
    started: bool,
}

impl Consumer for Feed {
    fn describe(&self) -> String {
        format!("websocket client {}", self.peer)
    }

    fn kind(&self) -> &'static str {
        "websocket"
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.started {
            self.hub.live(self.id, bytes)
        } else {
            self.started = true;
            self.hub.head(self.id, bytes)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // Lets the writer drop a client that left, even while the program is
        // quiet.
        self.hub.check(self.id)
    }

    fn close(&mut self) -> io::Result<()> {
        self.hub.finish(self.id);
        Ok(())
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.hub.feed_gone(self.id);
    }
}

/// Events in a piece of the encoded stream: each one starts on a new line,
/// and JSON strings never hold a raw newline.
fn count_events(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Where the first piece of `bytes` (whole events) ends: at most [`PIECE`]
/// bytes in, just before an event's separator (`,\n`); past it only if the
/// first event alone is longer.
fn next_cut(bytes: &[u8]) -> usize {
    if bytes.len() <= PIECE {
        return bytes.len();
    }
    // A newline at `i` starts an event; its separator's comma goes with it.
    let boundary = |i: usize| if bytes[i - 1] == b',' { i - 1 } else { i };
    bytes[1..=PIECE]
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|p| boundary(p + 1))
        .filter(|&cut| cut > 0)
        .or_else(|| {
            bytes[PIECE + 1..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|p| boundary(p + PIECE + 1))
        })
        .unwrap_or(bytes.len())
}

/// `bytes` (one message) cut into pieces of whole events.
fn split(mut bytes: &[u8]) -> VecDeque<Piece> {
    let mut pieces = VecDeque::new();
    while !bytes.is_empty() {
        let (piece, rest) = bytes.split_at(next_cut(bytes));
        bytes = rest;
        pieces.push_back(Piece {
            bytes: utf8(piece),
            first: pieces.is_empty(),
            last: rest.is_empty(),
        });
    }
    pieces
}

/// A piece's bytes, checked as UTF-8 once here rather than by every client
/// (the encoder writes UTF-8, and pieces end between events; anything else
/// is replaced).
fn utf8(piece: &[u8]) -> Bytes {
    match std::str::from_utf8(piece) {
        Ok(_) => Bytes::copy_from_slice(piece),
        Err(_) => Bytes::from(String::from_utf8_lossy(piece).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` events of about 60 bytes, as the writer encodes them.
    fn events(from: usize, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in from..from + n {
            out.extend_from_slice(
                format!(",\n{{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":{i},\"name\":\"step\"}}")
                    .as_bytes(),
            );
        }
        out
    }

    const HEAD: &[u8] =
        b"[\n{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"t\"}}";

    /// Everything a reader can take now, concatenated.
    fn drain(reader: &Reader) -> Vec<u8> {
        let mut got = Vec::new();
        while let (Some(piece), _) = reader.take(Duration::ZERO) {
            got.extend_from_slice(&piece.bytes);
        }
        got
    }

    /// What the writer does for one chunk: the same bytes to every feed.
    fn write_all(feeds: &mut [Feed], chunk: &[u8]) -> Vec<io::Result<()>> {
        feeds.iter_mut().map(|f| f.write(chunk)).collect()
    }

    #[test]
    fn pieces_hold_whole_events_and_make_one_message() {
        let mut input = HEAD.to_vec();
        input.extend_from_slice(&events(0, 3000));
        let pieces = split(&input);
        assert!(pieces.len() > 1, "{} bytes in one piece", input.len());
        let mut rebuilt = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            assert!(p.bytes.len() <= PIECE);
            if i > 0 {
                assert!(p.bytes.starts_with(b",\n{"), "piece {i} starts mid-event");
            }
            assert!(p.bytes.ends_with(b"}"), "piece {i} ends mid-event");
            assert_eq!(p.first, i == 0);
            assert_eq!(p.last, i == pieces.len() - 1);
            rebuilt.extend_from_slice(&p.bytes);
        }
        assert_eq!(rebuilt, input);
        // An event longer than a piece stays whole.
        let long = format!(",\n{{\"name\":\"{}\"}}", "x".repeat(PIECE * 2));
        let mut input = events(0, 10);
        input.extend_from_slice(long.as_bytes());
        input.extend_from_slice(&events(10, 10));
        let pieces = split(&input);
        assert!(pieces
            .iter()
            .any(|p| p.bytes.ends_with(b"x\"}") && p.bytes.len() > PIECE));
        let rebuilt: Vec<u8> = pieces.iter().flat_map(|p| p.bytes.to_vec()).collect();
        assert_eq!(rebuilt, input);
    }

    #[test]
    fn every_feed_sees_the_chunk_the_ring_holds_it_once() {
        let hub = Broadcast::new(1 << 20);
        let (a, fa) = hub.join("a".into(), None);
        let (b, fb) = hub.join("b".into(), None);
        let mut feeds = [fa, fb];
        for f in feeds.iter_mut() {
            f.write(HEAD).unwrap();
        }
        let chunk = events(0, 100);
        assert!(write_all(&mut feeds, &chunk).iter().all(Result::is_ok));
        assert_eq!(hub.held(), chunk.len());
        for r in [&a, &b] {
            let mut want = HEAD.to_vec();
            want.extend_from_slice(&chunk);
            assert_eq!(drain(r), want);
        }
        // Taken by both: freed.
        assert_eq!(hub.held(), 0);
    }

    #[test]
    fn a_late_joiner_starts_at_its_head() {
        let hub = Broadcast::new(1 << 20);
        let (early, fe) = hub.join("early".into(), None);
        let mut feeds = vec![fe];
        feeds[0].write(HEAD).unwrap();
        let first = events(0, 10);
        write_all(&mut feeds, &first);
        let (late, mut fl) = hub.join("late".into(), None);
        fl.write(b"[\nLATE-HEAD").unwrap();
        feeds.push(fl);
        let second = events(10, 10);
        write_all(&mut feeds, &second);
        assert_eq!(drain(&early), [HEAD, &first, &second].concat());
        assert_eq!(drain(&late), [b"[\nLATE-HEAD".as_slice(), &second].concat());
    }

    #[test]
    fn stuck_readers_are_lapped_within_the_bound_while_a_reader_gets_everything() {
        const CAPACITY: usize = 64 << 10;
        let hub = Broadcast::new(CAPACITY);
        let (reader, f0) = hub.join("reader".into(), None);
        let (stuck1, f1) = hub.join("stuck1".into(), None);
        let (stuck2, f2) = hub.join("stuck2".into(), None);
        let mut feeds = vec![f0, f1, f2];
        for f in feeds.iter_mut() {
            f.write(HEAD).unwrap();
        }
        let mut sent = HEAD.to_vec();
        let mut received = drain(&reader);
        // stuck1 takes nothing; stuck2 its head and the first chunk.
        let mut stuck2_took = drain(&stuck2).len();
        // (client, why, bytes of stream sent when it was cut)
        let mut lapped = Vec::new();
        for round in 0..200 {
            let chunk = events(round * 200, 200);
            sent.extend_from_slice(&chunk);
            // The writer gives every feed the chunk and removes those that
            // fail.
            let results = write_all(&mut feeds, &chunk);
            let mut results = results.into_iter();
            feeds.retain(|f| match results.next().unwrap() {
                Ok(()) => true,
                Err(e) => {
                    let fb = e.get_ref().and_then(|e| e.downcast_ref::<FellBehind>());
                    lapped.push((f.describe(), *fb.expect("a FellBehind error"), sent.len()));
                    false
                }
            });
            assert!(hub.held() <= CAPACITY, "ring holds {} bytes", hub.held());
            received.extend_from_slice(&drain(&reader));
            if round == 0 {
                stuck2_took += drain(&stuck2).len();
            }
        }
        assert_eq!(received, sent, "the reading client missed something");
        assert_eq!(lapped.len(), 2, "both stuck clients are cut: {lapped:?}");
        // Each is told exactly how many events it never got.
        let events_to = |bytes: usize| count_events(&sent[..bytes]);
        for (who, fb, sent_then) in &lapped {
            let took = if who.ends_with("stuck2") {
                stuck2_took
            } else {
                0
            };
            assert_eq!(
                fb.dropped_events,
                events_to(*sent_then) - events_to(took),
                "{who}"
            );
            assert_eq!(fb.limit_bytes, CAPACITY);
        }
        for s in [&stuck1, &stuck2] {
            assert!(matches!(s.end(), End::FellBehind(_)));
            assert!(
                s.take(Duration::ZERO).0.is_none(),
                "a lapped client gets nothing more"
            );
        }
        // The reader has taken everything: nothing is held for the others.
        assert_eq!(hub.held(), 0);
        drop((stuck1, stuck2, reader));
        drop(feeds);
        assert_eq!(hub.clients(), 0);
    }

    #[test]
    fn a_live_chunk_is_one_message_of_several_frames() {
        let hub = Broadcast::new(1 << 20);
        let (reader, mut feed) = hub.join("r".into(), None);
        feed.write(HEAD).unwrap();
        let (head, _) = reader.take(Duration::ZERO);
        let head = head.unwrap();
        assert!(head.first && head.last);
        let chunk = events(0, 2000);
        feed.write(&chunk).unwrap();
        let mut frames = Vec::new();
        while let (Some(piece), _) = reader.take(Duration::ZERO) {
            frames.push(piece);
        }
        assert!(frames.len() > 1);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.first, i == 0, "frame {i}");
            assert_eq!(f.last, i == frames.len() - 1, "frame {i}");
        }
    }

    #[test]
    fn a_finished_stream_is_sent_in_full() {
        let hub = Broadcast::new(1 << 20);
        let (reader, mut feed) = hub.join("r".into(), None);
        feed.write(HEAD).unwrap();
        let chunk = events(0, 1000);
        feed.write(&chunk).unwrap();
        feed.write(b"\n]\n").unwrap();
        feed.close().unwrap();
        drop(feed);
        let (_, end) = reader.take(Duration::ZERO);
        assert_eq!(end, End::Finished);
        assert!(reader.has_more());
        let rest = drain(&reader);
        assert!(rest.ends_with(b"\n]\n"));
        assert!(!reader.has_more());
        assert_eq!(hub.held(), 0);
    }

    #[test]
    fn a_client_that_left_is_detached_from_the_writer() {
        let hub = Broadcast::new(1 << 20);
        let (reader, mut feed) = hub.join("r".into(), None);
        feed.write(HEAD).unwrap();
        drop(reader);
        let e = feed.write(&events(0, 10)).unwrap_err();
        assert!(crate::consumer::detached(&e));
        assert!(crate::consumer::detached(&feed.flush().unwrap_err()));
        drop(feed);
        assert_eq!(hub.clients(), 0);
    }
}
