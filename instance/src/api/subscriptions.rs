//! Subscription fed by the registries' per-block notifications
//! ([`crate::store::Store::subscribe_registry`]): what each committed block changed in members,
//! decisions, payments and documents, and the follower's progress.
//!
//! Each change is checked against the operation's policy for the account it is about, with the
//! subscriber's role read again at every block that changes something, so a council member who
//! leaves the board stops seeing others' changes at once. A subscription opened with an access
//! token ends when the token expires.

use async_graphql::{Context, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::ApiState;
use super::caller::{Caller, role_now};
use super::policy::{Policy, admit_each};
use crate::registry::projection::{RegistryEvent, Source};
use crate::store::RegistryVersion;

/// When the credential of a websocket connection expires, seconds since 1970 (connection data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpiry(pub i64);

/// One registry row a block changed.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RegistryChange {
    /// The block.
    pub block_num: u32,
    /// What the row comes from (`account`, `candidate`, `participant`, `decision`, `income`,
    /// `outcome`, `deposit`, `withdraw`, `document`).
    pub source: String,
    /// The row's key (a username, a decision id, a payment hash, `hash:sequence` of a document).
    pub key: String,
    /// The account the row is about.
    pub username: Option<String>,
    /// The row's status after the block (for documents `accepted` or `rejected`).
    pub status: Option<String>,
    /// The block removed the row (the contract erased it).
    pub removed: bool,
}

/// The follower's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct FollowerProgress {
    /// The last block committed, or the last block kept by a rollback.
    pub block_num: u32,
    /// The blocks after `block_num` were rolled back (a fork or a resync).
    pub rolled_back: bool,
}

/// The changes of `block_num` in `versions` (opened or closed in it), one per key.
fn changes_of(source: Source, block_num: u32, versions: &[RegistryVersion]) -> Vec<RegistryChange> {
    let mut changes: Vec<RegistryChange> = Vec::new();
    for version in versions {
        let opened = version.block_num == block_num;
        let change = RegistryChange {
            block_num,
            source: source.as_str().to_owned(),
            key: version.key.clone(),
            username: version.row.username.clone(),
            status: version.row.status.clone(),
            removed: !opened,
        };
        match changes.last_mut() {
            // A key's versions come together; the one the block opened is its new state.
            Some(last) if last.key == change.key => {
                if opened {
                    *last = change;
                }
            }
            _ => changes.push(change),
        }
    }
    changes
}

/// The changes to `sources` the caller may see, block by block.
fn registry_changes(
    ctx: &Context<'_>,
    sources: &'static [Source],
) -> async_graphql::Result<impl Stream<Item = RegistryChange> + use<>> {
    let (caller, policy) = admit_each(ctx)?;
    let state = ctx.data::<ApiState>()?.clone();
    let expiry = ctx.data_opt::<SessionExpiry>().copied();
    let receiver = state.store.subscribe_registry();
    let stream = futures::stream::unfold(
        (receiver, state, caller),
        move |(mut receiver, state, mut caller)| async move {
            loop {
                let event = match receiver.recv().await {
                    Ok(event) => event,
                    // A slow subscriber misses blocks rather than holding the follower back.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                };
                if expiry.is_some_and(|SessionExpiry(at)| state.now() >= at) {
                    return None;
                }
                let (block_num, changed) = match event {
                    RegistryEvent::Committed { block_num, sources } => (block_num, sources),
                    RegistryEvent::RolledBack { .. } => {
                        state.block_changes.forget();
                        continue;
                    }
                };
                let relevant: Vec<Source> = sources
                    .iter()
                    .filter(|source| changed.contains(source))
                    .copied()
                    .collect();
                if relevant.is_empty() {
                    continue;
                }
                if let Caller::Account { username, .. } = caller {
                    let Ok(role) = role_now(&state, username).await else {
                        return None;
                    };
                    caller = Caller::Account { username, role };
                }
                let mut items = Vec::new();
                for source in relevant {
                    match state
                        .block_changes
                        .get(&state.store, &state.coopname.to_string(), source, block_num)
                        .await
                    {
                        Ok(versions) => items.extend(changes_of(source, block_num, &versions)),
                        Err(err) => {
                            tracing::warn!(error = %err, block_num, "subscription: reading changes failed");
                            return None;
                        }
                    }
                }
                items.retain(|item: &RegistryChange| visible(policy, &caller, item));
                if !items.is_empty() {
                    return Some((items, (receiver, state, caller)));
                }
            }
        },
    );
    Ok(stream.flat_map(futures::stream::iter))
}

fn visible(policy: Policy, caller: &Caller, change: &RegistryChange) -> bool {
    policy.admits(caller, change.username.as_deref())
}

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Accounts, applications and shareholders changed by each block: the account's own, or
    /// every account's for the council and the chairman.
    async fn member_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = RegistryChange>> {
        registry_changes(
            ctx,
            &[Source::Account, Source::Candidate, Source::Participant],
        )
    }

    /// Council decisions changed by each block: those about the account, or all for the
    /// council and the chairman.
    async fn decision_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = RegistryChange>> {
        registry_changes(ctx, &[Source::Decision])
    }

    /// Payments changed by each block: the account's own, or all for the council and the
    /// chairman.
    async fn payment_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = RegistryChange>> {
        registry_changes(
            ctx,
            &[
                Source::Income,
                Source::Outcome,
                Source::Deposit,
                Source::Withdraw,
            ],
        )
    }

    /// Documents accepted (carried on chain) or rejected by each block: the account's own, or
    /// all for the council and the chairman.
    async fn document_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = RegistryChange>> {
        registry_changes(ctx, &[Source::Document])
    }

    /// Each block the follower commits, and each rollback.
    async fn follower_progress(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = FollowerProgress>> {
        admit_each(ctx)?;
        let state = ctx.data::<ApiState>()?;
        let receiver = state.store.subscribe_registry();
        Ok(futures::stream::unfold(
            receiver,
            |mut receiver| async move {
                loop {
                    match receiver.recv().await {
                        Ok(RegistryEvent::Committed { block_num, .. }) => {
                            let progress = FollowerProgress {
                                block_num,
                                rolled_back: false,
                            };
                            return Some((progress, receiver));
                        }
                        Ok(RegistryEvent::RolledBack { block_num }) => {
                            let progress = FollowerProgress {
                                block_num,
                                rolled_back: true,
                            };
                            return Some((progress, receiver));
                        }
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::projection::RegistryRow;
    use crate::store::JsonText;

    fn version(key: &str, block_num: u32, valid_to: Option<u32>, status: &str) -> RegistryVersion {
        RegistryVersion {
            source: Source::Decision,
            key: key.to_owned(),
            block_num,
            valid_to_block: valid_to,
            row: RegistryRow {
                coopname: "voskhod".to_owned(),
                username: Some("alice".to_owned()),
                status: Some(status.to_owned()),
                kind: None,
                reference: None,
                created_at: None,
                amount: None,
                data: JsonText::from_value(&serde_json::json!({})),
            },
        }
    }

    #[test]
    fn a_block_reports_each_key_once_with_its_new_state() {
        let changes = changes_of(
            Source::Decision,
            10,
            &[
                version("1", 5, Some(10), "voting"),
                version("1", 10, None, "approved"),
                version("2", 7, Some(10), "authorized"),
                version("3", 10, None, "voting"),
            ],
        );
        let summary: Vec<(&str, Option<&str>, bool)> = changes
            .iter()
            .map(|change| {
                (
                    change.key.as_str(),
                    change.status.as_deref(),
                    change.removed,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("1", Some("approved"), false),
                ("2", Some("authorized"), true),
                ("3", Some("voting"), false),
            ]
        );
    }
}
