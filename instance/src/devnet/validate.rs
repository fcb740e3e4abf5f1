//! Transaction checks in the order nodeos applies them to an incoming transaction: expiration
//! window, TaPoS, duplicates, signature recovery (canonical, no key twice), referenced
//! accounts, then the declared authorizations against the accounts' permissions.
//!
//! Every check is a pure function of the transaction and the chain state and fails with the
//! chain error nodeos raises, message included.

use std::collections::BTreeSet;

use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::PublicKey;
use crate::antelope::name::Name;
use crate::antelope::signature::Signature;
use crate::antelope::time::{TimePoint, TimePointSec};
use crate::antelope::transaction::{PermissionLevel, Tapos, Transaction};
use crate::devnet::error::{ChainError, ChainErrorKind};
use crate::devnet::state::{ACTIVE, Account, OWNER, State};

/// `max_transaction_lifetime` of the COOPOS genesis, in seconds.
pub const MAX_TRANSACTION_LIFETIME_SECS: i64 = 3600;
/// `max_authority_depth` of the default chain configuration.
pub const MAX_AUTHORITY_DEPTH: u16 = 6;

/// Fails unless `expiration` lies in `(block_time, block_time + 3600 s]`.
pub fn check_expiration(expiration: TimePointSec, block_time: TimePoint) -> Result<(), ChainError> {
    let expiration_micros = expiration.to_time_point().as_micros();
    if expiration_micros < block_time.as_micros() {
        return Err(ChainError::new(
            ChainErrorKind::ExpiredTx,
            format!(
                "transaction has expired, expiration is {expiration} and pending block time is {block_time}"
            ),
        ));
    }
    if expiration_micros > block_time.as_micros() + MAX_TRANSACTION_LIFETIME_SECS * 1_000_000 {
        return Err(ChainError::new(
            ChainErrorKind::TxExpTooFar,
            format!(
                "Transaction expiration is too far in the future relative to the reference time of \
                 {block_time}, expiration is {expiration} and the maximum transaction lifetime is \
                 {MAX_TRANSACTION_LIFETIME_SECS} seconds"
            ),
        ));
    }
    Ok(())
}

/// Fails unless `ref_block_prefix` matches the id of the most recent block whose number has
/// `ref_block_num` as its low 16 bits; `summary` is that id, when such a block exists.
pub fn check_tapos(
    ref_block_num: u16,
    ref_block_prefix: u32,
    summary: Option<&Checksum256>,
) -> Result<(), ChainError> {
    let matches =
        summary.is_some_and(|id| Tapos::from_block_id(id).ref_block_prefix == ref_block_prefix);
    if matches {
        Ok(())
    } else {
        Err(ChainError::new(
            ChainErrorKind::InvalidRefBlock,
            format!(
                "Transaction's reference block did not match. Is this transaction from a different \
                 fork? ref_block_num {ref_block_num}, ref_block_prefix {ref_block_prefix}"
            ),
        ))
    }
}

/// Fails when a transaction with this id is still remembered.
pub fn check_duplicate(state: &State, id: &Checksum256) -> Result<(), ChainError> {
    if state.has_transaction(id) {
        Err(ChainError::new(
            ChainErrorKind::TxDuplicate,
            format!("duplicate transaction {id}"),
        ))
    } else {
        Ok(())
    }
}

/// Recovers the keys that signed `digest`; each signature must be canonical and each key may
/// sign once.
pub fn recover_keys(
    signatures: &[Signature],
    digest: &[u8; 32],
) -> Result<BTreeSet<PublicKey>, ChainError> {
    let mut keys = BTreeSet::new();
    for signature in signatures {
        if !signature.is_canonical() {
            return Err(ChainError::new(
                ChainErrorKind::Assert,
                "signature is not canonical",
            ));
        }
        let key = signature.recover(digest).map_err(|error| {
            ChainError::new(
                ChainErrorKind::Assert,
                format!("unable to reconstruct public key: {error}"),
            )
        })?;
        if !keys.insert(key) {
            return Err(ChainError::new(
                ChainErrorKind::TxDuplicateSig,
                format!(
                    "transaction includes more than one signature signed using the same key \
                     associated with public key: {}",
                    key.to_legacy_string()
                ),
            ));
        }
    }
    Ok(keys)
}

/// Fails unless the transaction has actions, each with an authorization, on existing accounts.
pub fn check_referenced_accounts(state: &State, trx: &Transaction) -> Result<(), ChainError> {
    if trx.actions.is_empty() {
        return Err(ChainError::new(
            ChainErrorKind::TxNoAction,
            "transaction must have at least one action",
        ));
    }
    for action in &trx.actions {
        if state.account(action.account).is_none() {
            return Err(ChainError::new(
                ChainErrorKind::Transaction,
                format!("action's code account '{}' does not exist", action.account),
            ));
        }
        for level in &action.authorization {
            if state.account(level.actor).is_none() {
                return Err(ChainError::new(
                    ChainErrorKind::Transaction,
                    format!(
                        "action's authorizing actor '{}' does not exist",
                        level.actor
                    ),
                ));
            }
        }
    }
    if trx
        .actions
        .iter()
        .all(|action| action.authorization.is_empty())
    {
        return Err(ChainError::new(
            ChainErrorKind::TxNoAuths,
            "transaction must have at least one authorization",
        ));
    }
    Ok(())
}

/// Checks every declared authorization against the recovered `keys`: the permission must
/// exist, be `active` or one of its ancestors (no `linkauth` on the devnet), and be satisfied;
/// afterwards every key must have been needed.
pub fn check_authorization(
    state: &State,
    trx: &Transaction,
    keys: &BTreeSet<PublicKey>,
) -> Result<(), ChainError> {
    let mut used = BTreeSet::new();
    for action in &trx.actions {
        for level in &action.authorization {
            let account = state
                .account(level.actor)
                .ok_or_else(|| permission_missing(level))?;
            let permission = account
                .permission(level.permission)
                .ok_or_else(|| permission_missing(level))?;
            if !satisfies_active(account, permission.name) {
                return Err(ChainError::new(
                    ChainErrorKind::IrrelevantAuth,
                    format!(
                        "action declares irrelevant authority '{}'; minimum authority is {}@active",
                        level_json(level),
                        level.actor
                    ),
                ));
            }
            if !satisfied(state, level, keys, &mut used, 0) {
                let provided: Vec<String> = keys
                    .iter()
                    .map(|key| format!("\"{}\"", key.to_legacy_string()))
                    .collect();
                return Err(ChainError::new(
                    ChainErrorKind::UnsatisfiedAuthorization,
                    format!(
                        "transaction declares authority '{}', but does not have signatures for it \
                         under a provided delay of 0 ms, provided permissions [], provided keys [{}], \
                         and a delay max limit of 3888000000 ms",
                        level_json(level),
                        provided.join(",")
                    ),
                ));
            }
        }
    }
    let unused: Vec<String> = keys
        .difference(&used)
        .map(|key| format!("\"{}\"", key.to_legacy_string()))
        .collect();
    if !unused.is_empty() {
        return Err(ChainError::new(
            ChainErrorKind::TxIrrelevantSig,
            format!(
                "transaction bears irrelevant signatures from these keys: [{}]",
                unused.join(",")
            ),
        ));
    }
    Ok(())
}

/// Whether `permission` of `account` is `active` or an ancestor of it.
fn satisfies_active(account: &Account, permission: Name) -> bool {
    let mut current = Some(ACTIVE);
    let mut steps = 0;
    while let Some(name) = current {
        if name == permission {
            return true;
        }
        if name == OWNER || steps > account.permissions.len() {
            return false;
        }
        current = account.permission(name).map(|perm| perm.parent);
        steps += 1;
    }
    false
}

/// Whether the keys satisfy `level`'s authority, counting keys in order until the threshold is
/// reached (as nodeos' authority checker does) and recording the keys it counted.
fn satisfied(
    state: &State,
    level: &PermissionLevel,
    keys: &BTreeSet<PublicKey>,
    used: &mut BTreeSet<PublicKey>,
    depth: u16,
) -> bool {
    if depth > MAX_AUTHORITY_DEPTH {
        return false;
    }
    let Some(authority) = state
        .account(level.actor)
        .and_then(|account| account.permission(level.permission))
        .map(|perm| &perm.auth)
    else {
        return false;
    };
    let threshold = u64::from(authority.threshold);
    let mut weight = 0_u64;
    let mut counted = Vec::new();
    for key_weight in &authority.keys {
        if weight >= threshold {
            break;
        }
        if keys.contains(&key_weight.key) {
            weight += u64::from(key_weight.weight);
            counted.push(key_weight.key);
        }
    }
    for account_weight in &authority.accounts {
        if weight >= threshold {
            break;
        }
        let mut nested_used = BTreeSet::new();
        if satisfied(
            state,
            &account_weight.permission,
            keys,
            &mut nested_used,
            depth + 1,
        ) {
            weight += u64::from(account_weight.weight);
            counted.extend(nested_used);
        }
    }
    if weight >= threshold {
        used.extend(counted);
        true
    } else {
        false
    }
}

fn permission_missing(level: &PermissionLevel) -> ChainError {
    ChainError::new(
        ChainErrorKind::PermissionQuery,
        format!("Failed to retrieve permission: {}", level_json(level)),
    )
}

fn level_json(level: &PermissionLevel) -> String {
    format!(
        "{{\"actor\":\"{}\",\"permission\":\"{}\"}}",
        level.actor, level.permission
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_window_is_half_open() {
        let block_time = TimePoint::from_micros(1_000_000_000_000);
        let at = |secs: u32| TimePointSec::from_secs(secs);
        assert!(check_expiration(at(1_000_000), block_time).is_ok());
        assert!(check_expiration(at(1_003_600), block_time).is_ok());
        let expired = check_expiration(at(999_999), block_time).expect_err("expired");
        assert_eq!(expired.kind(), ChainErrorKind::ExpiredTx);
        let too_far = check_expiration(at(1_003_601), block_time).expect_err("too far");
        assert_eq!(too_far.kind(), ChainErrorKind::TxExpTooFar);
    }

    #[test]
    fn tapos_needs_matching_prefix() {
        let mut bytes = [0_u8; 32];
        bytes[8..12].copy_from_slice(&77_u32.to_le_bytes());
        let id = Checksum256::new(bytes);
        assert!(check_tapos(1, 77, Some(&id)).is_ok());
        assert_eq!(
            check_tapos(1, 78, Some(&id)).expect_err("bad").kind(),
            ChainErrorKind::InvalidRefBlock
        );
        assert_eq!(
            check_tapos(1, 77, None).expect_err("none").kind(),
            ChainErrorKind::InvalidRefBlock
        );
    }
}
