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

/// How much of a response body is read before the rest is dropped.
const BODY_CAP: usize = 64 * 1024;

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

/// What a receiver answered, as far as the queue cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub outcome: AttemptOutcome,
    /// The `Retry-After` header, as sent (see `missive_core::retry_after`).
    pub retry_after: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeliveryClient {
    http: reqwest::Client,
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
        Ok(DeliveryClient { http, policy, host })
    }

    /// Sends one request and classifies the answer. Never fails: every problem is an outcome.
    pub async fn post(&self, req: Request<'_>) -> AttemptOutcome {
        self.send(req).await.outcome
    }

    /// Sends one request and returns the outcome with what the answer asks of a retry.
    pub async fn send(&self, req: Request<'_>) -> Answer {
        let no_response = Answer {
            outcome: AttemptOutcome::NoResponse,
            retry_after: None,
        };
        let Ok(url) = reqwest::Url::parse(req.url) else {
            return no_response;
        };
        if !matches!(url.scheme(), "http" | "https") {
            return no_response;
        }
        // Hostnames are checked by the resolver; IP literals never reach it.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return no_response,
        };
        if let Some(ip) = literal
            && !self.policy.allows(ip)
        {
            tracing::debug!(%ip, "refused to dial a non-public address");
            return no_response;
        }
        let mut request = self.http.post(url);
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
            request = request
                .header("webhook-id", req.event_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signatures);
        }
        let sent = request
            .header("X-Misskey-Host", &self.host)
            .header("X-Misskey-Hook-Id", req.hook_id)
            .header("X-Misskey-Hook-Secret", req.secret)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(req.body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                drain_capped(response).await;
                Answer {
                    outcome: AttemptOutcome::Status(status),
                    retry_after,
                }
            }
            Err(e) => {
                // reqwest's message names the URL, whose userinfo or query may hold a secret.
                let e = e.without_url();
                tracing::debug!(error = %e, url = %url_for_logs(req.url), "delivery attempt got no response");
                no_response
            }
        }
    }
}

/// Reads at most `BODY_CAP` bytes so that a small answer leaves the connection reusable,
/// and drops the rest (closing the connection) rather than buffering a large one.
async fn drain_capped(response: reqwest::Response) {
    let mut stream = response.bytes_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        read += chunk.len();
        if read > BODY_CAP {
            break;
        }
    }
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
                    "{host} resolves only to addresses that may not be dialled: {}",
                    refused.join(", ")
                );
                return Err(msg.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}
