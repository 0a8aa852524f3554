//! Endpoint health, kept up to date by the recorder: each batch of outcomes extends or
//! ends the webhooks' runs of failed deliveries, and switches off those whose run is long
//! and old enough or whose receiver answered `410 Gone` (see `missive_core::health`).
//!
//! This runs inside `finish_deliveries`' transaction, after the deliveries are written,
//! in the statement that records the webhooks' latest attempts; two more for each
//! webhook switched off (rare), so health costs no extra statement or commit.

use std::collections::{BTreeMap, HashSet};

use missive_core::health::{DisabledReason, FailureRun, HealthPolicy, is_gone};

use crate::conn::{Conn, Stmt};
use crate::deliveries::{Finished, FinishedState, value_rows};
use crate::outbox::chunk_sizes;
use crate::{Result, Store};

/// What one batch of outcomes does to a webhook's run of failures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RunChange {
    /// A delivery succeeded: the run starts over with the failures after it.
    restart: bool,
    failures: i64,
    first_failure_at: Option<i64>,
    latest_failure_at: Option<i64>,
    gone_at: Option<i64>,
}

/// The runs' changes per webhook (in id order, the lock order) from the deliveries that
/// ended in this batch and were `recorded` (not outcomes of a lost lease); retries and
/// cancellations change nothing.
fn run_changes<'a>(
    finished: &'a [Finished],
    recorded: &HashSet<String>,
) -> BTreeMap<&'a str, RunChange> {
    let mut ended: Vec<&Finished> = finished
        .iter()
        .filter(|f| {
            f.attempted
                && matches!(f.state, FinishedState::Succeeded | FinishedState::Failed)
                && recorded.contains(&f.delivery_id)
        })
        .collect();
    ended.sort_by_key(|f| f.at_ms);
    let mut changes: BTreeMap<&str, RunChange> = BTreeMap::new();
    for f in ended {
        let change = changes.entry(f.webhook_id.as_str()).or_default();
        if f.state == FinishedState::Succeeded {
            *change = RunChange {
                restart: true,
                gone_at: change.gone_at,
                ..RunChange::default()
            };
            continue;
        }
        change.failures += 1;
        change.first_failure_at.get_or_insert(f.at_ms);
        change.latest_failure_at = Some(f.at_ms);
        if is_gone(f.status) {
            change.gone_at.get_or_insert(f.at_ms);
        }
    }
    changes
}

impl Store {
    /// Writes each webhook's latest attempt (`latest`: at, status, by webhook id, in id
    /// order) and the change to its run of failures from the deliveries that ended in
    /// `finished`, one row a webhook; then switches off (cancelling their pending
    /// deliveries) those that must be. A fan-out's batch touches as many webhooks as
    /// deliveries, so one statement for both, not one each, halves those writes.
    pub(crate) async fn record_webhooks(
        &self,
        conn: &mut Conn<'_>,
        latest: &[(String, (i64, i64))],
        finished: &[Finished],
        recorded: &HashSet<String>,
    ) -> Result<()> {
        let changes = run_changes(finished, recorded);
        let mut to_disable: Vec<(&str, DisabledReason, i64)> = Vec::new();
        let mut rest = latest;
        for size in chunk_sizes(rest.len(), HEALTH_ROWS) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            // Batches from several recorders (or nodes) commit in any order: the latest
            // fields never go back to an older attempt. A webhook without a change to its
            // run (only retries in this batch) keeps it (`column4` null).
            let newer = "webhooks.latest_sent_at IS NULL OR webhooks.latest_sent_at <= v.column2";
            let sql = format!(
                "UPDATE webhooks SET \
                 latest_sent_at = CASE WHEN {newer} THEN v.column2 ELSE webhooks.latest_sent_at END, \
                 latest_status = CASE WHEN {newer} THEN v.column3 ELSE webhooks.latest_status END, \
                 consecutive_failures = CASE WHEN v.column4 IS NULL THEN webhooks.consecutive_failures \
                 WHEN v.column4 = 1 THEN v.column5 ELSE webhooks.consecutive_failures + v.column5 END, \
                 first_failure_at = CASE WHEN v.column4 IS NULL THEN webhooks.first_failure_at \
                 WHEN v.column4 = 1 THEN v.column6 ELSE COALESCE(webhooks.first_failure_at, v.column6) END \
                 FROM (VALUES {}) AS v WHERE webhooks.id = v.column1 \
                 RETURNING webhooks.id AS id, webhooks.consecutive_failures AS consecutive_failures, \
                 webhooks.first_failure_at AS first_failure_at, webhooks.active AS active",
                value_rows(chunk.len(), 6)
            );
            let mut stmt = Stmt::new(sql);
            for (webhook_id, (at, status)) in chunk {
                let change = changes.get(webhook_id.as_str());
                stmt.push(webhook_id);
                stmt.push(*at);
                stmt.push(*status);
                stmt.push(change.map(|c| i64::from(c.restart)));
                stmt.push(change.map(|c| c.failures));
                stmt.push(change.and_then(|c| c.first_failure_at));
            }
            let rows = self.fetch(conn, &stmt).await?;
            for row in &rows {
                if row.get::<i64>("active")? == 0 {
                    continue;
                }
                let id: String = row.get("id")?;
                let Some((webhook_id, change)) = changes.get_key_value(id.as_str()) else {
                    continue;
                };
                let run = FailureRun {
                    consecutive_failures: row.get("consecutive_failures")?,
                    first_failure_at_ms: row.get("first_failure_at")?,
                    latest_failure_at_ms: change.latest_failure_at,
                };
                if let Some(at) = change.gone_at {
                    to_disable.push((webhook_id, DisabledReason::Gone, at));
                } else if self.health.should_disable(run) {
                    let at = change.latest_failure_at.unwrap_or_default();
                    to_disable.push((webhook_id, DisabledReason::Failing, at));
                }
            }
        }
        for (webhook_id, reason, at) in to_disable {
            let switch_off = Stmt::new(
                "UPDATE webhooks SET active = 0, disabled_reason = $2, disabled_at = $3 WHERE id = $1 AND active = 1",
            )
            .bind(webhook_id)
            .bind(reason.as_str())
            .bind(at);
            self.execute(conn, &switch_off).await?;
            // Switching off stops the pending retries, as an owner's switching off does.
            self.cancel_pending(conn, webhook_id, at).await?;
            tracing::info!(webhook = %webhook_id, reason = reason.as_str(), "webhook switched off automatically");
        }
        Ok(())
    }

    /// When webhooks whose deliveries keep failing are switched off.
    pub fn with_health_policy(mut self, policy: HealthPolicy) -> Store {
        self.health = policy;
        self
    }
}

/// Rows per multi-row UPDATE of the webhooks' latest attempts and health.
const HEALTH_ROWS: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(webhook: &str, at_ms: i64, state: FinishedState, status: i64) -> Finished {
        Finished {
            delivery_id: format!("{webhook}{at_ms}"),
            lease_token: "t".to_owned(),
            webhook_id: webhook.to_owned(),
            state,
            attempted: true,
            status,
            at_ms,
            log: None,
        }
    }

    #[test]
    fn a_success_restarts_the_run_and_retries_change_nothing() {
        let batch = [
            ended("a", 1, FinishedState::Failed, 500),
            ended("a", 2, FinishedState::Succeeded, 200),
            ended("a", 3, FinishedState::Failed, 404),
            ended("b", 1, FinishedState::RetryAt(10), 500),
            ended("c", 5, FinishedState::Failed, 410),
            ended("c", 4, FinishedState::Failed, 1),
        ];
        let all: HashSet<String> = batch.iter().map(|f| f.delivery_id.clone()).collect();
        let changes = run_changes(&batch, &all);
        assert!(
            run_changes(&batch, &HashSet::new()).is_empty(),
            "lost leases count for nothing"
        );
        assert_eq!(
            changes.get("a"),
            Some(&RunChange {
                restart: true,
                failures: 1,
                first_failure_at: Some(3),
                latest_failure_at: Some(3),
                gone_at: None,
            })
        );
        assert_eq!(changes.get("b"), None);
        assert_eq!(
            changes.get("c"),
            Some(&RunChange {
                restart: false,
                failures: 2,
                first_failure_at: Some(4),
                latest_failure_at: Some(5),
                gone_at: Some(5),
            })
        );
    }
}
