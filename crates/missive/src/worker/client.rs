//! The outbound HTTP client, the only code that makes requests to receivers.
//!
//! Every address it dials is checked against the network policy (ARCHITECTURE.md invariant 6):
//! hostnames through a resolver that drops forbidden addresses, so the check is on
//! what is actually dialled and DNS rebinding cannot slip past it; IP literals before
//! the request. Redirects are not followed, response bodies are read up to a small cap,
//! every request has a connect and a total timeout, and connections are kept alive.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use missive_core::net_policy::NetworkPolicy;
use missive_core::redact::url_for_logs;
use missive_core::retry::AttemptOutcome;
use missive_core::signing;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};

use crate::worker::connections::Connections;

/// How much of a response body is read before the rest is dropped.
pub(super) const BODY_CAP: usize = 64 * 1024;
/// How much of a response body the delivery log keeps.
pub const LOGGED_BODY_CAP: usize = 1024;

/// Why an attempt got no HTTP answer, as the delivery log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkError {
    /// The connection was refused (or reset before an answer).
    Refused,
    Timeout,
    /// The name did not resolve.
    Dns,
    Tls,
    /// The network policy forbids the address (or the URL cannot be dialled at all).
    Blocked,
    Other,
}

impl NetworkError {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkError::Refused => "refused",
            NetworkError::Timeout => "timeout",
            NetworkError::Dns => "dns",
            NetworkError::Tls => "tls",
            NetworkError::Blocked => "blocked",
            NetworkError::Other => "other",
        }
    }

    /// Classifies a failed request by the errors it wraps.
    fn of(e: &reqwest::Error) -> NetworkError {
        if e.is_timeout() {
            return NetworkError::Timeout;
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut text = String::new();
        while let Some(err) = source {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset => {
                        return NetworkError::Refused;
                    }
                    std::io::ErrorKind::TimedOut => return NetworkError::Timeout,
                    _ => {}
                }
            }
            text.push_str(&err.to_string().to_ascii_lowercase());
            text.push('\n');
            source = err.source();
        }
        if text.contains(BLOCKED_BY_POLICY) {
            NetworkError::Blocked
        } else if text.contains("dns") || text.contains("resolve") || text.contains("lookup") {
            NetworkError::Dns
        } else if text.contains("tls") || text.contains("certificate") || text.contains("ssl") {
            NetworkError::Tls
        } else if text.contains("refused") {
            NetworkError::Refused
        } else {
            NetworkError::Other
        }
    }
}

/// How an attempt went, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    pub outcome: AttemptOutcome,
    /// Why no answer came, when none did.
    pub error: Option<NetworkError>,
    /// The first `LOGGED_BODY_CAP` bytes of the answer's body (lossy UTF-8).
    pub response_head: Option<String>,
    /// The `Retry-After` header, as sent (see `missive_core::retry_after`).
    pub retry_after: Option<String>,
}

impl AttemptReport {
    fn failed(error: NetworkError) -> AttemptReport {
        AttemptReport {
            outcome: AttemptOutcome::NoResponse,
            error: Some(error),
            response_head: None,
            retry_after: None,
        }
    }
}

/// What the resolver's error says when the policy drops every address of a name.
const BLOCKED_BY_POLICY: &str = "may not be dialled";

/// One webhook POST.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub url: &'a str,
    pub hook_id: &'a str,
    /// The delivery's `eventId`, also the Standard Webhooks message id.
    pub event_id: &'a str,
    pub secret: &'a str,
    /// The secret before a change, still in its grace period: the body is signed with
    /// both, so receivers can switch to the new secret without rejecting anything.
    pub previous_secret: Option<&'a str>,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct DeliveryClient {
    /// For `https` receivers.
    http: reqwest::Client,
    /// For `http` receivers.
    plain: Arc<Connections>,
    /// The most an attempt takes, connecting included.
    timeout: Duration,
    policy: Arc<NetworkPolicy>,
    /// `X-Misskey-Host`.
    host: String,
}

impl DeliveryClient {
    pub fn new(
        policy: NetworkPolicy,
        timeout: Duration,
        host: String,
    ) -> anyhow::Result<DeliveryClient> {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .user_agent("Misskey-Hooks")
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
            }))
            .no_proxy()
            .build()?;
        Ok(DeliveryClient {
            http,
            plain: Arc::new(Connections::new(policy.clone())),
            timeout,
            policy,
            host,
        })
    }

    /// Sends one request and classifies the answer. Never fails: every problem is an outcome.
    pub async fn post(&self, req: Request<'_>) -> AttemptOutcome {
        self.post_reporting(req).await.outcome
    }

    /// `post`, with what the delivery log keeps of the attempt.
    pub async fn post_reporting(&self, req: Request<'_>) -> AttemptReport {
        let Ok(url) = reqwest::Url::parse(req.url) else {
            return AttemptReport::failed(NetworkError::Other);
        };
        if !matches!(url.scheme(), "http" | "https") {
            return AttemptReport::failed(NetworkError::Other);
        }
        // Hostnames are checked where they are resolved; IP literals here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return AttemptReport::failed(NetworkError::Other),
        };
        if let Some(ip) = literal
            && !self.policy.allows(ip)
        {
            tracing::debug!(%ip, "refused to dial a non-public address");
            return AttemptReport::failed(NetworkError::Blocked);
        }
        let Some(headers) = self.headers(&req) else {
            // A header value that cannot be sent (a control character in the secret).
            return AttemptReport::failed(NetworkError::Other);
        };
        let answer = if url.scheme() == "http" {
            tokio::time::timeout(self.timeout, self.plain.post(&url, headers, req.body))
                .await
                .unwrap_or(Err(NetworkError::Timeout))
        } else {
            self.post_tls(url, headers, req.body).await
        };
        match answer {
            Ok(answer) => AttemptReport {
                outcome: AttemptOutcome::Status(answer.status),
                error: None,
                response_head: Some(String::from_utf8_lossy(&answer.head).into_owned()),
                retry_after: answer.retry_after,
            },
            Err(error) => {
                tracing::debug!(error = error.as_str(), url = %url_for_logs(req.url), "delivery attempt got no response");
                AttemptReport::failed(error)
            }
        }
    }

    /// The request's headers: Misskey's, and, with a secret, Standard Webhooks'.
    fn headers(&self, req: &Request<'_>) -> Option<HeaderMap> {
        let value = |v: &str| HeaderValue::from_str(v).ok();
        let mut headers = HeaderMap::with_capacity(10);
        headers.insert(USER_AGENT, HeaderValue::from_static("Misskey-Hooks"));
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if !req.secret.is_empty() {
            // Beyond Misskey: a Standard Webhooks signature, so receivers can verify the
            // body with the secret instead of only comparing the secret header.
            let timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let mut signatures = signing::signature(req.secret, req.event_id, timestamp, &req.body);
            if let Some(previous) = req.previous_secret.filter(|p| !p.is_empty()) {
                // Standard Webhooks allows several space-separated signatures; a receiver
                // still holding the old secret verifies the second.
                signatures.push(' ');
                signatures.push_str(&signing::signature(
                    previous,
                    req.event_id,
                    timestamp,
                    &req.body,
                ));
            }
            headers.insert("webhook-id", value(req.event_id)?);
            headers.insert("webhook-timestamp", HeaderValue::from(timestamp));
            headers.insert("webhook-signature", value(&signatures)?);
        }
        headers.insert("X-Misskey-Host", value(&self.host)?);
        headers.insert("X-Misskey-Hook-Id", value(req.hook_id)?);
        headers.insert("X-Misskey-Hook-Secret", value(req.secret)?);
        Some(headers)
    }

    /// An `https` POST, through reqwest (its timeout covers the whole attempt).
    async fn post_tls(
        &self,
        url: reqwest::Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Answer, NetworkError> {
        let sent = self.http.post(url).headers(headers).body(body).send().await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = retry_after(response.headers());
                let head = drain_capped(response).await;
                Ok(Answer {
                    status,
                    retry_after,
                    head,
                })
            }
            // reqwest's message names the URL, whose userinfo or query may hold a secret.
            Err(e) => Err(NetworkError::of(&e.without_url())),
        }
    }
}

/// The `Retry-After` header of an answer, as sent (see `missive_core::retry_after`).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// What a receiver answered.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<String>,
    /// The first `LOGGED_BODY_CAP` bytes of the body.
    pub head: Vec<u8>,
}

/// Reads at most `BODY_CAP` bytes so that a small answer leaves the connection reusable,
/// and drops the rest (closing the connection) rather than buffering a large one. Returns
/// the first `LOGGED_BODY_CAP` bytes, for the delivery log.
async fn drain_capped(response: reqwest::Response) -> Vec<u8> {
    let mut stream = response.bytes_stream();
    let mut read = 0;
    let mut head = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        let room = LOGGED_BODY_CAP - head.len();
        head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if read > BODY_CAP {
            break;
        }
    }
    head
}

/// Resolves names with the system resolver and keeps only allowed addresses.
struct CheckedResolver {
    policy: Arc<NetworkPolicy>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                let refused: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                let msg = format!(
                    "{host} resolves only to addresses that {BLOCKED_BY_POLICY}: {}",
                    refused.join(", ")
                );
                return Err(msg.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}
