//! Leader election with a `coordination.k8s.io/v1` Lease, so that two replicas of the operator
//! never act at once.
//!
//! The holder renews the lease every `renew` interval; another replica takes it over only once
//! `duration` has passed since the last renewal. Every write carries the resourceVersion it read,
//! so two candidates racing for an expired lease cannot both win: the API server refuses the
//! second write with a conflict. A leader that cannot renew before its lease runs out stops
//! acting ([`Leadership::lost`]) rather than risk acting alongside a new leader.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clusterlink_reconcile::status::parse_time;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::Client;
use serde_json::{json, Value};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::error::Error;

/// Where the lease lives and who we are.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// The lease's namespace.
    pub namespace: String,
    /// The lease's name.
    pub name: String,
    /// This replica's identity (its pod name).
    pub identity: String,
    /// How long a lease is valid after its last renewal.
    pub duration: Duration,
    /// How often the holder renews.
    pub renew: Duration,
}

impl LeaseConfig {
    /// Kubernetes' usual timings: 15 s leases renewed every 5 s.
    pub fn new(namespace: &str, name: &str, identity: &str) -> Self {
        LeaseConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            renew: Duration::from_secs(5),
        }
    }
}

fn lease_resource() -> ApiResource {
    ApiResource::erase::<k8s_openapi::api::coordination::v1::Lease>(&())
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// RFC 3339 with microseconds (Kubernetes' MicroTime).
fn micro_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let base = clusterlink_reconcile::status::rfc3339(secs);
    format!("{}.{frac:06}Z", base.trim_end_matches('Z'))
}

/// Held leadership: [`Leadership::lost`] completes when it is gone.
#[derive(Debug)]
pub struct Leadership {
    lost: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Leadership {
    /// Completes when this replica no longer holds the lease.
    pub async fn lost(&mut self) {
        while !*self.lost.borrow() {
            if self.lost.changed().await.is_err() {
                return;
            }
        }
    }

    /// Stops renewing (the lease then expires for the next candidate).
    pub fn release(self) {
        self.task.abort();
    }
}

enum Attempt {
    Acquired,
    HeldByOther(String),
}

async fn try_acquire(
    api: &Api<DynamicObject>,
    cfg: &LeaseConfig,
    current: Option<DynamicObject>,
) -> Result<Attempt, Error> {
    let now = now_micros();
    let spec = |transitions: i64, acquire: String| {
        json!({
            "holderIdentity": cfg.identity,
            "leaseDurationSeconds": cfg.duration.as_secs().max(1),
            "acquireTime": acquire,
            "renewTime": micro_time(now),
            "leaseTransitions": transitions,
        })
    };
    let Some(mut lease) = current else {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": cfg.name, "namespace": cfg.namespace},
            "spec": spec(0, micro_time(now)),
        }))?;
        return match api.create(&PostParams::default(), &obj).await {
            Ok(_) => Ok(Attempt::Acquired),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                Ok(Attempt::HeldByOther("someone else".into()))
            }
            Err(e) => Err(e.into()),
        };
    };
    let s = lease.data.get("spec").cloned().unwrap_or(Value::Null);
    let holder = s
        .get("holderIdentity")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let duration = s
        .get("leaseDurationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(15);
    let renewed = s
        .get("renewTime")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .unwrap_or(0);
    let transitions = s
        .get("leaseTransitions")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let expired = renewed + duration * 1_000_000 < now;
    if !holder.is_empty() && holder != cfg.identity && !expired {
        return Ok(Attempt::HeldByOther(holder));
    }
    let (transitions, acquire) = if holder == cfg.identity {
        (
            transitions,
            s.get("acquireTime")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| micro_time(now)),
        )
    } else {
        (transitions + 1, micro_time(now))
    };
    lease.data["spec"] = spec(transitions, acquire);
    let name = cfg.name.clone();
    match api.replace(&name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(Attempt::Acquired),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::HeldByOther(holder)),
        Err(e) => Err(e.into()),
    }
}

/// Waits until this replica holds the lease, then keeps renewing it in the background.
pub async fn acquire(client: Client, cfg: LeaseConfig) -> Result<Leadership, Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client, &cfg.namespace, &lease_resource());
    let mut announced = None;
    loop {
        let current = match api.get_opt(&cfg.name).await {
            Ok(c) => c,
            Err(e) => {
                // A standby keeps trying: the API server may be restarting.
                warn!(error = %e, "leader lease: cannot read it");
                tokio::time::sleep(cfg.renew).await;
                continue;
            }
        };
        match try_acquire(&api, &cfg, current).await {
            Ok(Attempt::Acquired) => break,
            Ok(Attempt::HeldByOther(h)) => {
                if announced.as_ref() != Some(&h) {
                    info!(holder = %h, lease = %cfg.name, "waiting for the leader lease");
                    announced = Some(h);
                }
            }
            Err(e) => warn!(error = %e, "leader lease: attempt failed"),
        }
        tokio::time::sleep(cfg.renew).await;
    }
    info!(identity = %cfg.identity, lease = %cfg.name, "leader lease acquired");
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(cfg.renew).await;
            // A renewal that hangs must not keep this replica acting past its lease.
            let attempt = tokio::time::timeout(cfg.renew, async {
                match api.get_opt(&cfg.name).await {
                    Ok(current) => try_acquire(&api, &cfg, current).await,
                    Err(e) => Err(e.into()),
                }
            })
            .await
            .unwrap_or_else(|_| Err(Error::Lease("renewal timed out".into())));
            match attempt {
                Ok(Attempt::Acquired) => last_ok = tokio::time::Instant::now(),
                Ok(Attempt::HeldByOther(h)) => {
                    warn!(holder = %h, "leader lease taken over: stopping");
                    let _ = tx.send(true);
                    return;
                }
                Err(e) => {
                    warn!(error = %e, "leader lease: renewal failed");
                    if last_ok.elapsed() + cfg.renew >= cfg.duration {
                        warn!("leader lease could not be renewed in time: stopping");
                        let _ = tx.send(true);
                        return;
                    }
                }
            }
        }
    });
    Ok(Leadership { lost: rx, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_times_round_trip() {
        let t = 1_795_000_000_123_456;
        assert_eq!(micro_time(t), "2026-11-18T11:06:40.123456Z");
        assert_eq!(parse_time(&micro_time(t)), Some(t));
        assert_eq!(
            parse_time("2026-11-18T11:06:40Z"),
            Some(1_795_000_000_000_000)
        );
        assert_eq!(
            parse_time("2026-11-18T12:06:40+01:00"),
            Some(1_795_000_000_000_000)
        );
        assert_eq!(parse_time("garbage"), None);
    }
}
