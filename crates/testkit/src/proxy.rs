//! A TCP proxy on loopback that injects the faults a real broker cannot: it can cut the network,
//! lose an answer on its way back, and make a topic look larger than it is.
//!
//! A broker started behind it advertises the proxy's address, so every connection a client
//! makes after bootstrap goes through it too (tansu: [`crate::TansuCluster::start_behind_proxy`];
//! Apache Kafka: [`crate::kafka::KafkaBuilder::proxied`], a listener of its own per node).
//! `cut()` closes every open connection and refuses new ones until `restore()`.
//! `lose_response()` drops the next answer to one API after the broker has done the work (a
//! Produce appended, its answer never arrives), then cuts that connection or stays silent.
//! `corrupt_fetch_for()` flips one bit in the last whole record batch of the next Fetch answer
//! for a topic (damage on the way, which a real broker's checksums would not let through).
//! `grow()` rewrites Metadata answers so that a topic shows more partitions than the broker
//! has: a source topic that grew, which neither tansu nor librdkafka's mock cluster can produce
//! (no CreatePartitions). The proxy reads Kafka frames (size-prefixed) in both directions to
//! match answers with their requests; every other frame passes unchanged.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Topics to show with more partitions than they have: name → partition count.
type Growth = Arc<Mutex<std::collections::HashMap<String, i32>>>;

/// How an answer is lost (see [`Proxy::lose_response`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The answer is dropped and its connection closed at once: the client sees the connection
    /// fail with its request (and any pipelined behind it) unanswered.
    Cut,
    /// The answer is dropped and the connection stays open: the client waits for it until its
    /// request timeout, while later answers on the connection arrive as usual.
    Silent,
}

/// What happens to an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    /// It is lost.
    Lose(Loss),
    /// A Fetch answer's records of this topic are damaged.
    Corrupt(String),
}

/// Answers to lose or damage: armed one-shot faults (API key, topic the request must name,
/// what) and how many were done.
#[derive(Debug, Default)]
struct Losses {
    armed: Mutex<Vec<(i16, Option<String>, Fault)>>,
    lost: AtomicUsize,
    corrupted: AtomicUsize,
}

impl Losses {
    /// The fault armed for the answer to this request (disarming it).
    fn take(&self, key: i16, version: i16, frame: &[u8]) -> Option<Fault> {
        let mut armed = self.armed.lock().unwrap_or_else(|e| e.into_inner());
        let mut topics = None;
        let i = armed.iter().position(|(k, topic, _)| {
            *k == key
                && topic.as_ref().is_none_or(|t| {
                    topics
                        .get_or_insert_with(|| request_topics(key, version, frame))
                        .contains(t)
                })
        })?;
        Some(armed.remove(i).2)
    }
}

/// A cuttable TCP proxy.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    grow: Growth,
    losses: Arc<Losses>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target` (`host:port`), which may be set
    /// later with [`Proxy::set_target`] (the broker behind it needs the proxy's port first).
    pub fn start() -> std::io::Result<(Self, Arc<Mutex<String>>)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let target = Arc::new(Mutex::new(String::new()));
        let proxy = Proxy {
            port,
            cut: Arc::default(),
            open: Arc::default(),
            stop: Arc::default(),
            grow: Arc::default(),
            losses: Arc::default(),
        };
        let (cut, open, stop, t, grow, losses) = (
            proxy.cut.clone(),
            proxy.open.clone(),
            proxy.stop.clone(),
            target.clone(),
            proxy.grow.clone(),
            proxy.losses.clone(),
        );
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = conn else { continue };
                if cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let addr = t.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let Ok(server) = TcpStream::connect(&addr) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    let mut o = open.lock().unwrap_or_else(|e| e.into_inner());
                    o.push(c2);
                    o.push(s2);
                }
                let asked: Asked = Arc::default();
                requests(
                    client.try_clone(),
                    server.try_clone(),
                    asked.clone(),
                    losses.clone(),
                );
                responses(
                    server.try_clone(),
                    client.try_clone(),
                    asked,
                    grow.clone(),
                    losses.clone(),
                );
            }
        });
        Ok((proxy, target))
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Loses the next answer to a request of API `api_key` (0 Produce, 1 Fetch, 3 Metadata...)
    /// on any connection, after the broker has done what was asked: see [`Loss`]. One-shot;
    /// arm it again for another.
    pub fn lose_response(&self, api_key: i16, how: Loss) {
        self.losses
            .armed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((api_key, None, Fault::Lose(how)));
    }

    /// Like [`Proxy::lose_response`], for the next request of API `api_key` (Produce or Fetch)
    /// that names `topic`.
    pub fn lose_response_for(&self, api_key: i16, topic: &str, how: Loss) {
        self.losses
            .armed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((api_key, Some(topic.to_owned()), Fault::Lose(how)));
    }

    /// Damages the next Fetch answer that brings records of `topic`: one bit flipped in the
    /// last whole batch of a partition, so that its CRC-32C no longer matches. One-shot; a
    /// Fetch answer without records for it passes and the fault stays armed for the next one.
    pub fn corrupt_fetch_for(&self, topic: &str) {
        self.losses
            .armed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((1, Some(topic.to_owned()), Fault::Corrupt(topic.to_owned())));
    }

    /// How many answers were damaged so far.
    pub fn corrupted_responses(&self) -> usize {
        self.losses.corrupted.load(Ordering::SeqCst)
    }

    /// How many answers were lost so far (a test checks that its fault really happened).
    pub fn lost_responses(&self) -> usize {
        self.losses.lost.load(Ordering::SeqCst)
    }

    /// From now on, Metadata answers show `topic` with `partitions` partitions (the extra ones
    /// copied from partition 0: same leader).
    pub fn grow(&self, topic: &str, partitions: i32) {
        self.grow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic.to_owned(), partitions);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
    }
}

/// The API key and version of each request on one connection, by correlation id, and whether
/// its answer is to be lost.
type Asked = Arc<Mutex<std::collections::HashMap<i32, (i16, i16, Option<Fault>)>>>;

/// Reads one size-prefixed Kafka frame (without its size).
fn read_frame(from: &mut TcpStream) -> Option<Vec<u8>> {
    let mut size = [0u8; 4];
    from.read_exact(&mut size).ok()?;
    let size = i32::from_be_bytes(size);
    let mut body = vec![0u8; usize::try_from(size).ok()?];
    from.read_exact(&mut body).ok()?;
    Some(body)
}

fn write_frame(to: &mut TcpStream, body: &[u8]) -> bool {
    let size = (body.len() as i32).to_be_bytes();
    to.write_all(&size).is_ok() && to.write_all(body).is_ok()
}

/// Client to broker: frames pass unchanged; each request's key and version are noted, and
/// whether an armed loss takes its answer.
fn requests(
    from: std::io::Result<TcpStream>,
    to: std::io::Result<TcpStream>,
    asked: Asked,
    losses: Arc<Losses>,
) {
    let (Ok(mut from), Ok(mut to)) = (from, to) else {
        return;
    };
    thread::spawn(move || {
        while let Some(body) = read_frame(&mut from) {
            if body.len() >= 8 {
                let key = i16::from_be_bytes([body[0], body[1]]);
                let version = i16::from_be_bytes([body[2], body[3]]);
                let correlation = i32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                let loss = losses.take(key, version, &body);
                asked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(correlation, (key, version, loss));
            }
            if !write_frame(&mut to, &body) {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// Broker to client: Metadata answers are rewritten as `grow` says, armed losses are taken;
/// the rest pass unchanged.
fn responses(
    from: std::io::Result<TcpStream>,
    to: std::io::Result<TcpStream>,
    asked: Asked,
    grow: Growth,
    losses: Arc<Losses>,
) {
    let (Ok(mut from), Ok(mut to)) = (from, to) else {
        return;
    };
    thread::spawn(move || {
        while let Some(mut body) = read_frame(&mut from) {
            if body.len() >= 4 {
                let correlation = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                let request = asked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&correlation);
                let growth = grow.lock().unwrap_or_else(|e| e.into_inner()).clone();
                if let (Some((3, version, _)), false) = (&request, growth.is_empty()) {
                    if let Some(rewritten) = grown_metadata(&body, *version, &growth) {
                        body = rewritten;
                    }
                }
                match request.as_ref().and_then(|(_, _, fault)| fault.clone()) {
                    Some(Fault::Lose(Loss::Cut)) => {
                        losses.lost.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    Some(Fault::Lose(Loss::Silent)) => {
                        losses.lost.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    Some(Fault::Corrupt(topic)) => {
                        let version = request.as_ref().map_or(0, |(_, v, _)| *v);
                        match corrupted_fetch(&body, version, &topic) {
                            Some(damaged) => {
                                body = damaged;
                                losses.corrupted.fetch_add(1, Ordering::SeqCst);
                            }
                            // No records of the topic in this answer: armed again.
                            None => losses
                                .armed
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((1, Some(topic.clone()), Fault::Corrupt(topic))),
                        }
                    }
                    None => {}
                }
            }
            if !write_frame(&mut to, &body) {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// The topics a Produce or Fetch request (header and body) names; none for other APIs or a
/// request that does not decode.
fn request_topics(key: i16, version: i16, frame: &[u8]) -> Vec<String> {
    use kafka_protocol::messages::{ApiKey, FetchRequest, ProduceRequest, RequestHeader};
    use kafka_protocol::protocol::Decodable;
    let Ok(api) = ApiKey::try_from(key) else {
        return Vec::new();
    };
    let mut buf = bytes::Bytes::copy_from_slice(frame);
    if RequestHeader::decode(&mut buf, api.request_header_version(version)).is_err() {
        return Vec::new();
    }
    match api {
        ApiKey::Produce => ProduceRequest::decode(&mut buf, version)
            .map(|r| r.topic_data.iter().map(|t| t.name.0.to_string()).collect())
            .unwrap_or_default(),
        ApiKey::Fetch => FetchRequest::decode(&mut buf, version)
            .map(|r| r.topics.iter().map(|t| t.topic.0.to_string()).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A Metadata answer (header and body) with the grown topics' extra partitions added.
fn grown_metadata(
    frame: &[u8],
    version: i16,
    growth: &std::collections::HashMap<String, i32>,
) -> Option<Vec<u8>> {
    use kafka_protocol::messages::{ApiKey, MetadataResponse, ResponseHeader};
    use kafka_protocol::protocol::{Decodable, Encodable};
    let header_version = ApiKey::Metadata.response_header_version(version);
    let mut buf = bytes::Bytes::copy_from_slice(frame);
    let header = ResponseHeader::decode(&mut buf, header_version).ok()?;
    let mut response = MetadataResponse::decode(&mut buf, version).ok()?;
    for topic in &mut response.topics {
        let Some(name) = topic.name.as_ref() else {
            continue;
        };
        let Some(&want) = growth.get(name.0.as_str()) else {
            continue;
        };
        let Some(first) = topic.partitions.first().cloned() else {
            continue;
        };
        while (topic.partitions.len() as i32) < want {
            let mut extra = first.clone();
            extra.partition_index = topic.partitions.len() as i32;
            topic.partitions.push(extra);
        }
    }
    let mut out = bytes::BytesMut::new();
    header.encode(&mut out, header_version).ok()?;
    response.encode(&mut out, version).ok()?;
    Some(out.to_vec())
}

/// A Fetch answer (header and body) with one bit flipped in the last whole record batch of the
/// first partition of `topic` that has records; `None` when there is none to damage.
fn corrupted_fetch(frame: &[u8], version: i16, topic: &str) -> Option<Vec<u8>> {
    use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseHeader};
    use kafka_protocol::protocol::{Decodable, Encodable};
    let header_version = ApiKey::Fetch.response_header_version(version);
    let mut buf = bytes::Bytes::copy_from_slice(frame);
    let header = ResponseHeader::decode(&mut buf, header_version).ok()?;
    let mut response = FetchResponse::decode(&mut buf, version).ok()?;
    let damaged = response
        .responses
        .iter_mut()
        .filter(|t| t.topic.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter_mut())
        .find_map(|p| {
            let records = p.records.as_ref()?;
            let end = last_whole_batch_end(records)?;
            let mut damaged = records.to_vec();
            // The batch's last byte: inside its last record, which the CRC covers.
            damaged[end - 1] ^= 0x01;
            p.records = Some(damaged.into());
            Some(())
        });
    damaged?;
    let mut out = bytes::BytesMut::new();
    header.encode(&mut out, header_version).ok()?;
    response.encode(&mut out, version).ok()?;
    Some(out.to_vec())
}

/// Where the last whole record batch of `records` ends (a fetch may end with part of one).
fn last_whole_batch_end(records: &[u8]) -> Option<usize> {
    // A batch: base offset (8 bytes), then its length after that field and itself (4 bytes).
    const LOG_OVERHEAD: usize = 12;
    let (mut at, mut end) = (0, None);
    while records.len() >= at + LOG_OVERHEAD {
        let len = i32::from_be_bytes(records[at + 8..at + 12].try_into().ok()?);
        let next = at + LOG_OVERHEAD + usize::try_from(len).ok()?;
        if next > records.len() {
            break;
        }
        (at, end) = (next, Some(next));
    }
    end
}
