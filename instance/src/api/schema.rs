//! The schema: one query, mutation and subscription root merged from the domain modules, with
//! the policy gate, the metrics extension and the depth and complexity limits.

use async_graphql::{MergedObject, Schema, SchemaBuilder};

use super::accounts::{AccountsMutation, AccountsQuery};
use super::branches::{BranchesMutation, BranchesQuery};
use super::council::CouncilQuery;
use super::decisions::DecisionsMutation;
use super::documents::{DocumentsMutation, DocumentsQuery};
use super::extensions::{ExtensionsMutation, ExtensionsQuery};
use super::free_decisions::FreeDecisionsMutation;
use super::install::InstallMutation;
use super::key_reset::KeyResetMutation;
use super::metrics::{ApiMetrics, MetricsExtension};
use super::participants::ParticipantsMutation;
use super::payment_methods::{PaymentMethodsMutation, PaymentMethodsQuery};
use super::payments::{PaymentsMutation, PaymentsQuery};
use super::policy::PolicyGate;
use super::powerup::PowerupQuery;
use super::qrpay::QrpayQuery;
use super::session::{SessionMutation, SessionQuery};
use super::subscriptions::Subscription;
use super::system::{SystemMutation, SystemQuery};
use super::{ApiState, Limits};

/// Every query.
#[derive(MergedObject, Default)]
pub struct Query(
    SessionQuery,
    SystemQuery,
    AccountsQuery,
    DocumentsQuery,
    CouncilQuery,
    BranchesQuery,
    PaymentsQuery,
    PaymentMethodsQuery,
    ExtensionsQuery,
    QrpayQuery,
    PowerupQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    SessionMutation,
    SystemMutation,
    InstallMutation,
    KeyResetMutation,
    AccountsMutation,
    ParticipantsMutation,
    DocumentsMutation,
    DecisionsMutation,
    FreeDecisionsMutation,
    BranchesMutation,
    PaymentsMutation,
    PaymentMethodsMutation,
    ExtensionsMutation,
);

/// The API's schema.
pub type ApiSchema = Schema<Query, Mutation, Subscription>;

fn builder(limits: Limits) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .extension(PolicyGate)
}

/// The schema serving `state`.
pub fn build(state: ApiState) -> ApiSchema {
    let metrics: ApiMetrics = state.metrics.clone();
    let limits = state.config.limits;
    builder(limits)
        .extension(MetricsExtension(metrics))
        .data(state)
        .finish()
}

/// The schema's SDL, as `mono schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    builder(Limits::default()).finish().sdl()
}
