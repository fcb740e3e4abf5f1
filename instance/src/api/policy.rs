//! Who may call each operation, declared once, in [`POLICIES`]: deny by default.
//!
//! [`PolicyGate`], a schema extension, refuses every root query or mutation field the table
//! does not name, and every caller the field's policy cannot admit whoever the field is about.
//! Where the answer depends on the account asked about (`SelfOr`), the resolver names that
//! account with [`admit`], which checks the same table entry; subscriptions filter each event
//! with it ([`admit_each`]). Tests enumerate the schema and fail when an operation has no entry.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{Context, ServerResult, Value};

use super::caller::Caller;
use super::error::ApiError;
use crate::registry::roles::Role;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Anyone, without credentials.
    Public,
    /// An account with at least this role as of the synced block.
    AtLeast(Role),
    /// The account the operation is about, or an account with at least this role.
    SelfOr(Role),
    /// The service, or an account with at least this role.
    ServiceOr(Role),
}

/// Every operation and its policy. Operation names are unique across query, mutation and
/// subscription roots.
pub const POLICIES: &[(&str, Policy)] = &[
    // Sessions: the credential is the signature or the refresh token itself.
    ("authChallenge", Policy::Public),
    ("login", Policy::Public),
    ("refresh", Policy::Public),
    ("logout", Policy::Public),
    // Key reset: the credential is the e-mailed token.
    ("startResetKey", Policy::Public),
    ("resetKey", Policy::Public),
    // System.
    ("getSystemInfo", Policy::Public),
    // The cooperative's own records: the operator at set-up, the chairman later.
    ("initSystem", Policy::ServiceOr(Role::Chairman)),
    ("updateSystem", Policy::ServiceOr(Role::Chairman)),
    // The council's accounts and board: the operator at set-up, the chairman later.
    ("installSystem", Policy::ServiceOr(Role::Chairman)),
    // Accounts and their personal data.
    ("getAccount", Policy::SelfOr(Role::Council)),
    ("getAccounts", Policy::AtLeast(Role::Council)),
    ("updateAccount", Policy::SelfOr(Role::Chairman)),
    // Joining: anyone registers (rate limited as login); the documents a future member signs
    // carry its personal data.
    ("registerAccount", Policy::Public),
    ("generateWalletAgreement", Policy::SelfOr(Role::Council)),
    ("generateSignatureAgreement", Policy::SelfOr(Role::Council)),
    ("generatePrivacyAgreement", Policy::SelfOr(Role::Council)),
    ("generateUserAgreement", Policy::SelfOr(Role::Council)),
    (
        "generateParticipantApplication",
        Policy::SelfOr(Role::Council),
    ),
    ("registerParticipant", Policy::SelfOr(Role::Chairman)),
    // Adding a shareholder without an application is the chairman's.
    ("addParticipant", Policy::AtLeast(Role::Chairman)),
    // Documents carry the personal data of their signers.
    ("getDocuments", Policy::SelfOr(Role::Council)),
    // One document: the account it is about, its signers, the council.
    ("getDocument", Policy::SelfOr(Role::Council)),
    ("regenerateDocument", Policy::SelfOr(Role::Council)),
    // Council.
    ("getAgenda", Policy::AtLeast(Role::Council)),
    ("voteFor", Policy::AtLeast(Role::Council)),
    ("voteAgainst", Policy::AtLeast(Role::Council)),
    (
        "generateParticipantApplicationDecision",
        Policy::AtLeast(Role::Chairman),
    ),
    ("authorizeDecision", Policy::AtLeast(Role::Chairman)),
    ("execDecision", Policy::AtLeast(Role::Chairman)),
    // Free decisions: a member proposes, the chairman makes the protocol.
    ("createProjectOfFreeDecision", Policy::AtLeast(Role::Member)),
    (
        "generateProjectOfFreeDecision",
        Policy::AtLeast(Role::Member),
    ),
    (
        "publishProjectOfFreeDecision",
        Policy::AtLeast(Role::Member),
    ),
    ("generateFreeDecision", Policy::AtLeast(Role::Chairman)),
    // Branches are the cooperative's public structure, for its registered accounts.
    ("getBranches", Policy::AtLeast(Role::User)),
    // The chairman runs the branches with the cooperative's key.
    ("createBranch", Policy::AtLeast(Role::Chairman)),
    ("editBranch", Policy::AtLeast(Role::Chairman)),
    ("deleteBranch", Policy::AtLeast(Role::Chairman)),
    ("addTrustedAccount", Policy::AtLeast(Role::Chairman)),
    ("deleteTrustedAccount", Policy::AtLeast(Role::Chairman)),
    // A shareholder chooses its branch; its statement carries its personal data.
    (
        "generateSelectBranchDocument",
        Policy::SelfOr(Role::Council),
    ),
    ("selectBranch", Policy::SelfOr(Role::Chairman)),
    // Payments.
    ("getPayments", Policy::SelfOr(Role::Council)),
    ("createDepositPayment", Policy::SelfOr(Role::Chairman)),
    ("createInitialPayment", Policy::SelfOr(Role::Chairman)),
    // A payment provider's notification comes through the service.
    ("setPaymentStatus", Policy::ServiceOr(Role::Chairman)),
    ("getPaymentMethods", Policy::SelfOr(Role::Chairman)),
    ("createBankAccount", Policy::SelfOr(Role::Chairman)),
    ("updateBankAccount", Policy::SelfOr(Role::Chairman)),
    ("deletePaymentMethod", Policy::SelfOr(Role::Chairman)),
    // Extensions: anyone sees which exist and run (the desktop shows their entries by it);
    // configurations and changes are the chairman's or the service's.
    ("getExtensions", Policy::Public),
    ("installExtension", Policy::ServiceOr(Role::Chairman)),
    ("updateExtension", Policy::ServiceOr(Role::Chairman)),
    ("uninstallExtension", Policy::ServiceOr(Role::Chairman)),
    // qrpay: the payer's own payment, or any for the council.
    ("qrpayPaymentInstructions", Policy::SelfOr(Role::Council)),
    // powerup: the cooperative's resources and spending are the council's concern.
    ("powerupStatus", Policy::AtLeast(Role::Council)),
    // Subscriptions: each event is checked against the policy for the account it is about.
    ("memberChanged", Policy::SelfOr(Role::Council)),
    ("decisionChanged", Policy::SelfOr(Role::Council)),
    ("paymentChanged", Policy::SelfOr(Role::Council)),
    ("documentChanged", Policy::SelfOr(Role::Council)),
    ("followerProgress", Policy::ServiceOr(Role::User)),
];

/// The policy of `operation`, if it has one.
pub fn of(operation: &str) -> Option<Policy> {
    POLICIES
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, policy)| *policy)
}

impl Policy {
    /// Whether the policy admits `caller` for an operation about `subject` (`None` when the
    /// operation is about no account, or about every account).
    pub fn admits(self, caller: &Caller, subject: Option<&str>) -> bool {
        let role_at_least = |least: Role| match caller {
            Caller::Account { role, .. } => *role >= least,
            Caller::Anonymous | Caller::Service => false,
        };
        match self {
            Self::Public => true,
            Self::AtLeast(least) => role_at_least(least),
            Self::ServiceOr(least) => *caller == Caller::Service || role_at_least(least),
            Self::SelfOr(least) => {
                let is_self = match (caller.username(), subject) {
                    (Some(username), Some(subject)) => username.to_string() == subject,
                    _ => false,
                };
                is_self || role_at_least(least)
            }
        }
    }

    /// Whether the policy can admit `caller` for some subject: what the gate checks before the
    /// resolver knows the subject.
    pub fn may_admit(self, caller: &Caller) -> bool {
        match self {
            Self::SelfOr(_) => matches!(caller, Caller::Account { .. }),
            other => other.admits(caller, None),
        }
    }
}

/// The caller, once the current operation's policy admits it for `subject`.
///
/// # Errors
/// [`ApiError::Forbidden`] (or [`ApiError::Unauthenticated`] for an anonymous caller) when the
/// policy does not admit the caller, or the operation has no policy.
pub fn admit(ctx: &Context<'_>, subject: Option<&str>) -> Result<Caller, ApiError> {
    let caller = ctx
        .data_opt::<Caller>()
        .cloned()
        .unwrap_or(Caller::Anonymous);
    let operation = ctx.field().name();
    match of(operation) {
        Some(policy) if policy.admits(&caller, subject) => Ok(caller),
        _ => Err(refusal(&caller)),
    }
}

/// The caller and the current operation's policy, for an operation that checks each item it
/// yields (subscriptions).
///
/// # Errors
/// As [`admit`], when the policy cannot admit the caller for any item.
pub fn admit_each(ctx: &Context<'_>) -> Result<(Caller, Policy), ApiError> {
    let caller = ctx
        .data_opt::<Caller>()
        .cloned()
        .unwrap_or(Caller::Anonymous);
    match of(ctx.field().name()) {
        Some(policy) if policy.may_admit(&caller) => Ok((caller, policy)),
        _ => Err(refusal(&caller)),
    }
}

fn refusal(caller: &Caller) -> ApiError {
    match caller {
        Caller::Anonymous => ApiError::Unauthenticated("this operation needs a login"),
        Caller::Account { .. } | Caller::Service => ApiError::Forbidden,
    }
}

/// The schema extension refusing root fields without a policy, or whose policy cannot admit
/// the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyGate;

impl ExtensionFactory for PolicyGate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PolicyGate)
    }
}

#[async_trait::async_trait]
impl Extension for PolicyGate {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let root = info.path_node.parent.is_none();
        // `__schema`, `__type` and `__typename` describe the schema, which is public.
        if root && !info.is_for_introspection && !info.name.starts_with("__") {
            let caller = ctx
                .data_opt::<Caller>()
                .cloned()
                .unwrap_or(Caller::Anonymous);
            let admitted = of(info.name).is_some_and(|policy| policy.may_admit(&caller));
            if !admitted {
                let err: async_graphql::Error = refusal(&caller).into();
                let mut err = err.into_server_error(async_graphql::Pos::default());
                err.path = vec![async_graphql::PathSegment::Field(info.name.to_owned())];
                return Err(err);
            }
        }
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::antelope::name::Name;

    fn account(name: &str, role: Role) -> Caller {
        Caller::Account {
            username: name.parse::<Name>().expect("valid name"),
            role,
        }
    }

    #[test]
    fn policies_admit_by_role_self_and_service() {
        let alice = account("alice", Role::Member);
        let council = account("bob", Role::Council);
        let chairman = account("carol", Role::Chairman);
        let cases = [
            (Policy::Public, Caller::Anonymous, None, true),
            (Policy::AtLeast(Role::Council), alice.clone(), None, false),
            (Policy::AtLeast(Role::Council), council.clone(), None, true),
            (Policy::AtLeast(Role::Council), chairman.clone(), None, true),
            (Policy::AtLeast(Role::User), Caller::Service, None, false),
            (
                Policy::SelfOr(Role::Chairman),
                alice.clone(),
                Some("alice"),
                true,
            ),
            (
                Policy::SelfOr(Role::Chairman),
                alice.clone(),
                Some("bob"),
                false,
            ),
            (Policy::SelfOr(Role::Chairman), alice.clone(), None, false),
            (
                Policy::SelfOr(Role::Chairman),
                council.clone(),
                Some("alice"),
                false,
            ),
            (
                Policy::SelfOr(Role::Chairman),
                chairman.clone(),
                Some("alice"),
                true,
            ),
            (
                Policy::SelfOr(Role::Council),
                Caller::Service,
                Some("alice"),
                false,
            ),
            (
                Policy::SelfOr(Role::Council),
                Caller::Anonymous,
                Some("alice"),
                false,
            ),
            (Policy::ServiceOr(Role::User), Caller::Service, None, true),
            (
                Policy::ServiceOr(Role::User),
                account("dan", Role::Stranger),
                None,
                false,
            ),
        ];
        for (idx, (policy, caller, subject, expected)) in cases.into_iter().enumerate() {
            assert_eq!(policy.admits(&caller, subject), expected, "case {idx}");
        }
        assert!(Policy::SelfOr(Role::Chairman).may_admit(&alice));
        assert!(!Policy::SelfOr(Role::Chairman).may_admit(&Caller::Service));
    }

    #[test]
    fn operation_names_are_unique() {
        for (idx, (name, _)) in POLICIES.iter().enumerate() {
            assert!(
                POLICIES[idx + 1..].iter().all(|(other, _)| other != name),
                "{name} is listed twice"
            );
        }
    }
}
