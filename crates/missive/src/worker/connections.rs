//! Plain-HTTP deliveries over keep-alive HTTP/1.1 connections, pooled by origin, each
//! dialled only to an address the network policy allows (ARCHITECTURE.md invariant 6).
//!
//! Why not reqwest for these: on this project's 2-core benchmark machine one reqwest
//! client with 64 requests in flight reaches about 32,000 POSTs/s on loopback, and bare
//! hyper connections 77,000; in missive's fan-out profile, reqwest and hyper-util's pool
//! took a third of the delivery thread. HTTPS receivers still go through reqwest (TLS,
//! HTTP/2), where the encryption dominates anyway.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderMap, HeaderValue};
use hyper_util::rt::TokioIo;
use missive_core::net_policy::NetworkPolicy;
use tokio::net::TcpStream;
use url::Url;

use crate::worker::client::{Answer, BODY_CAP, LOGGED_BODY_CAP, NetworkError, retry_after};

/// How long an unused connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the idle connections of every origin are looked through for stale ones.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Where a connection goes: an `http` URL's host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    host: String,
    port: u16,
}

struct Idle {
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

#[derive(Default)]
struct Pool {
    idle: HashMap<Origin, Vec<Idle>>,
    swept: Option<Instant>,
}

pub(super) struct Connections {
    pool: Mutex<Pool>,
    policy: Arc<NetworkPolicy>,
}

impl Connections {
    pub fn new(policy: Arc<NetworkPolicy>) -> Connections {
        Connections {
            pool: Mutex::default(),
            policy,
        }
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// POSTs `body` with `headers` to the `http` URL `url` (the caller bounds the time).
    /// A pooled connection that the receiver closed before taking the request is
    /// replaced by a new one, once; nothing is resent after it was taken.
    pub async fn post(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Answer, NetworkError> {
        let origin = Origin {
            host: url.host_str().ok_or(NetworkError::Other)?.to_owned(),
            port: url.port_or_known_default().ok_or(NetworkError::Other)?,
        };
        let target = match url.query() {
            Some(_) => &url[url::Position::BeforePath..url::Position::AfterQuery],
            None => url.path(),
        };
        let mut request = hyper::Request::post(target)
            .body(Full::new(body))
            .map_err(|_| NetworkError::Other)?;
        *request.headers_mut() = headers;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", origin.host),
            None => origin.host.clone(),
        };
        request.headers_mut().insert(
            HOST,
            HeaderValue::from_str(&host).map_err(|_| NetworkError::Other)?,
        );
        loop {
            let (mut sender, pooled) = match self.checkout(&origin).await {
                Some(sender) => (sender, true),
                None => (self.dial(url, &origin).await?, false),
            };
            // A request handed back unsent (the connection closed first) can go again.
            let response = match sender.try_send_request(request).await {
                Ok(response) => response,
                Err(mut e) => match e.take_message() {
                    Some(unsent) if pooled => {
                        request = unsent;
                        continue;
                    }
                    _ => return Err(classify(e.error())),
                },
            };
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let (head, whole) = read_capped(response.into_body()).await;
            if whole {
                self.checkin(origin, sender);
            }
            return Ok(Answer {
                status,
                retry_after,
                head,
            });
        }
    }

    /// An idle connection to `origin` that can take a request, if one is pooled.
    async fn checkout(&self, origin: &Origin) -> Option<SendRequest<Full<Bytes>>> {
        loop {
            let idle = {
                let mut pool = self.pool();
                let conns = pool.idle.get_mut(origin)?;
                let idle = conns.pop();
                if conns.is_empty() {
                    pool.idle.remove(origin);
                }
                idle?
            };
            let mut sender = idle.sender;
            if idle.since.elapsed() >= IDLE_TIMEOUT || sender.is_closed() {
                continue;
            }
            // Ready once the connection has finished with its previous exchange.
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    fn checkin(&self, origin: Origin, sender: SendRequest<Full<Bytes>>) {
        let now = Instant::now();
        let mut pool = self.pool();
        if pool.swept.is_none_or(|at| now - at >= SWEEP_EVERY) {
            // Connections to receivers no longer sent to would otherwise stay open.
            pool.swept = Some(now);
            pool.idle.retain(|_, conns| {
                conns.retain(|c| now - c.since < IDLE_TIMEOUT && !c.sender.is_closed());
                !conns.is_empty()
            });
        }
        pool.idle
            .entry(origin)
            .or_default()
            .push(Idle { sender, since: now });
    }

    /// Opens a connection to an allowed address of `origin`: an IP literal is checked
    /// as it is, a name by what it resolves to, so that DNS cannot point past the policy.
    async fn dial(
        &self,
        url: &Url,
        origin: &Origin,
    ) -> Result<SendRequest<Full<Bytes>>, NetworkError> {
        let addrs: Vec<SocketAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), origin.port)],
            Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), origin.port)],
            Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, origin.port))
                .await
                .map_err(|_| NetworkError::Dns)?
                .collect(),
            None => return Err(NetworkError::Other),
        };
        let allowed: Vec<SocketAddr> = addrs
            .iter()
            .copied()
            .filter(|a| self.policy.allows(a.ip()))
            .collect();
        if allowed.is_empty() {
            if addrs.is_empty() {
                return Err(NetworkError::Dns);
            }
            tracing::debug!(?addrs, "refused to dial a non-public address");
            return Err(NetworkError::Blocked);
        }
        let mut last = NetworkError::Refused;
        for addr in allowed {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    let (sender, conn) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream))
                            .await
                            .map_err(|e| classify(&e))?;
                    tokio::spawn(async move {
                        // Ends when the receiver or the pool closes the connection.
                        let _ = conn.await;
                    });
                    return Ok(sender);
                }
                Err(e) => last = io_error(&e),
            }
        }
        Err(last)
    }
}

/// Reads the body up to `BODY_CAP` bytes; returns its first `LOGGED_BODY_CAP` bytes and
/// whether it was read to its end (so that the connection can take another request).
async fn read_capped(mut body: hyper::body::Incoming) -> (Vec<u8>, bool) {
    let mut read = 0;
    let mut head = Vec::new();
    loop {
        match body.frame().await {
            None => return (head, true),
            Some(Err(_)) => return (head, false),
            Some(Ok(frame)) => {
                let Ok(chunk) = frame.into_data() else {
                    continue;
                };
                read += chunk.len();
                let room = LOGGED_BODY_CAP - head.len();
                head.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if read > BODY_CAP {
                    // Dropping the rest closes the connection.
                    return (head, false);
                }
            }
        }
    }
}

fn io_error(e: &std::io::Error) -> NetworkError {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset => {
            NetworkError::Refused
        }
        std::io::ErrorKind::TimedOut => NetworkError::Timeout,
        _ => NetworkError::Other,
    }
}

/// Classifies a hyper error by the I/O error it wraps, if any.
fn classify(e: &hyper::Error) -> NetworkError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io_error(io);
        }
        source = err.source();
    }
    if e.is_timeout() {
        NetworkError::Timeout
    } else if e.is_incomplete_message() || e.is_canceled() {
        // The receiver closed the connection without an answer.
        NetworkError::Refused
    } else {
        NetworkError::Other
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// How the test receiver answers each request.
    #[derive(Clone, Copy)]
    enum Then {
        KeepOpen,
        /// Close the connection after the answer, without saying so in a header.
        Close,
        /// Answer with a body larger than `BODY_CAP`.
        LargeBody,
    }

    struct Receiver {
        port: u16,
        connections: Arc<AtomicUsize>,
        heads: Arc<Mutex<Vec<String>>>,
    }

    /// A bare HTTP/1.1 receiver that counts the connections it accepts.
    async fn receiver(then: Then) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (counted, seen) = (connections.clone(), heads.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            if !read_more(&mut stream, &mut buf).await {
                                return;
                            }
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(str::to_owned)
                            })
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buf.len() < end + 4 + length {
                            if !read_more(&mut stream, &mut buf).await {
                                return;
                            }
                        }
                        buf.drain(..end + 4 + length);
                        seen.lock().unwrap().push(head);
                        let body = match then {
                            Then::LargeBody => "x".repeat(BODY_CAP + 10),
                            _ => "ok".to_owned(),
                        };
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                        if matches!(then, Then::Close) {
                            return;
                        }
                    }
                });
            }
        });
        Receiver {
            port,
            connections,
            heads,
        }
    }

    /// Appends what the stream has next to `buf`; false once it is closed.
    async fn read_more(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> bool {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    fn loopback_allowed() -> Arc<NetworkPolicy> {
        Arc::new(NetworkPolicy {
            allowed_private: vec!["127.0.0.0/8".parse().unwrap()],
        })
    }

    async fn post(conns: &Connections, url: &str) -> Result<Answer, NetworkError> {
        let url = Url::parse(url).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-misskey-hook-id", HeaderValue::from_static("hook"));
        conns.post(&url, headers, Bytes::from_static(b"{}")).await
    }

    #[tokio::test]
    async fn keeps_the_connection_alive_and_sends_host_and_target() {
        let r = receiver(Then::KeepOpen).await;
        let conns = Connections::new(loopback_allowed());
        for i in 0..3 {
            let url = format!("http://127.0.0.1:{}/hook/{i}?a=b", r.port);
            let answer = post(&conns, &url).await.unwrap();
            assert_eq!(answer.status, 200);
            assert_eq!(answer.head, b"ok");
        }
        assert_eq!(r.connections.load(Ordering::SeqCst), 1);
        let heads = r.heads.lock().unwrap().clone();
        assert!(
            heads[2].starts_with("POST /hook/2?a=b HTTP/1.1\r\n"),
            "{heads:?}"
        );
        let lower = heads[2].to_ascii_lowercase();
        assert!(
            lower.contains(&format!("host: 127.0.0.1:{}", r.port)),
            "{lower}"
        );
        assert!(lower.contains("x-misskey-hook-id: hook"), "{lower}");
        assert!(lower.contains("content-length: 2"), "{lower}");
    }

    #[tokio::test]
    async fn a_connection_the_receiver_closed_is_replaced() {
        let r = receiver(Then::Close).await;
        let conns = Connections::new(loopback_allowed());
        let url = format!("http://127.0.0.1:{}/", r.port);
        for _ in 0..3 {
            assert_eq!(post(&conns, &url).await.unwrap().status, 200);
        }
        assert_eq!(r.connections.load(Ordering::SeqCst), 3);
        assert_eq!(r.heads.lock().unwrap().len(), 3, "each request sent once");
    }

    #[tokio::test]
    async fn an_answer_past_the_cap_is_cut_and_its_connection_dropped() {
        let r = receiver(Then::LargeBody).await;
        let conns = Connections::new(loopback_allowed());
        let url = format!("http://127.0.0.1:{}/", r.port);
        for _ in 0..2 {
            let answer = post(&conns, &url).await.unwrap();
            assert_eq!(answer.status, 200);
            assert_eq!(answer.head.len(), LOGGED_BODY_CAP);
        }
        assert_eq!(r.connections.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn forbidden_addresses_are_not_dialled() {
        let r = receiver(Then::KeepOpen).await;
        let conns = Connections::new(Arc::new(NetworkPolicy::default()));
        for host in ["127.0.0.1", "localhost"] {
            let url = format!("http://{host}:{}/", r.port);
            assert_eq!(post(&conns, &url).await.unwrap_err(), NetworkError::Blocked);
        }
        assert_eq!(r.connections.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_refused_connection_is_reported_as_such() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let conns = Connections::new(loopback_allowed());
        let url = format!("http://127.0.0.1:{port}/");
        assert_eq!(post(&conns, &url).await.unwrap_err(), NetworkError::Refused);
    }
}
