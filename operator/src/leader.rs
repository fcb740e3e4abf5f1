//! Leader election on a `coordination.k8s.io/v1` Lease, so several operator replicas can run
//! while only one reconciles.
//!
//! The lease is renewed in the background by `kube-lease-manager`; [`Leadership::lost`]
//! resolves when another replica took it over, and the caller then stops its controllers.

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

/// Seconds a lease stays valid after its last renewal.
const LEASE_DURATION_SECONDS: u64 = 15;
/// Seconds before expiry at which the holder renews.
const LEASE_GRACE_SECONDS: u64 = 5;

/// Where the lease lives and who competes for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderConfig {
    /// Lease name.
    pub lease_name: String,
    /// Lease namespace (the operator's own).
    pub namespace: String,
    /// This replica's identity, usually its pod name.
    pub identity: String,
}

/// Failure to take part in the election.
#[derive(Debug, Error)]
pub enum LeaderError {
    /// The Lease could not be created or read.
    #[error("preparing lease {namespace}/{name}")]
    Lease {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The cause.
        #[source]
        source: LeaseManagerError,
    },
    /// The background renewal task ended before this replica became leader.
    #[error("lease manager stopped before this replica became leader")]
    Stopped,
}

/// Held leadership; dropping it releases the lease.
pub struct Leadership {
    state: watch::Receiver<bool>,
    task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

/// Waits until this replica holds the lease.
pub async fn acquire(client: Client, config: &LeaderConfig) -> Result<Leadership, LeaderError> {
    let manager = LeaseManagerBuilder::new(client, &config.lease_name)
        .with_namespace(&config.namespace)
        .with_identity(&config.identity)
        .with_duration(LEASE_DURATION_SECONDS)
        .with_grace(LEASE_GRACE_SECONDS)
        .build()
        .await
        .map_err(|source| LeaderError::Lease {
            namespace: config.namespace.clone(),
            name: config.lease_name.clone(),
            source,
        })?;
    let (mut state, task) = manager.watch().await;
    info!(
        lease = config.lease_name,
        namespace = config.namespace,
        identity = config.identity,
        "waiting for leadership"
    );
    while !*state.borrow_and_update() {
        state.changed().await.map_err(|_| LeaderError::Stopped)?;
    }
    info!(
        lease = config.lease_name,
        identity = config.identity,
        "leadership acquired"
    );
    Ok(Leadership { state, task })
}

impl Leadership {
    /// Resolves when the lease is lost (or its manager stopped).
    pub async fn lost(&mut self) {
        while *self.state.borrow_and_update() {
            if self.state.changed().await.is_err() {
                return;
            }
        }
    }

    /// Gives the lease up and waits until the release is written.
    pub async fn release(self) {
        drop(self.state);
        // The task releases the lease once no receiver is left; its result only matters
        // for logging, which the lease manager already does.
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::coordination::v1::Lease;
    use mono_fake_kube::FakeKube;

    use super::*;

    fn holder(fake: &FakeKube) -> Option<String> {
        fake.get::<Lease>(Some("mono-system"), "mono-operator")?
            .spec?
            .holder_identity
    }

    #[tokio::test]
    async fn acquires_and_releases_the_lease() {
        let fake = FakeKube::start().await.unwrap();
        fake.create_namespace("mono-system").unwrap();
        let config = LeaderConfig {
            lease_name: "mono-operator".to_owned(),
            namespace: "mono-system".to_owned(),
            identity: "replica-a".to_owned(),
        };
        let leadership = acquire(fake.client().unwrap(), &config).await.unwrap();
        assert_eq!(holder(&fake).as_deref(), Some("replica-a"));
        leadership.release().await;
        assert_ne!(holder(&fake).as_deref(), Some("replica-a"));
    }
}
