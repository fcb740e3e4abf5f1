//! Payments and share contributions as of a block: the gateway's incomes and outcomes (of
//! which registration payments are the incomes of type `registration`) and the wallet's
//! deposits and withdrawals, each pending until settled, then completed or declined; with the
//! amounts per member and the cooperative's totals of completed payments.

use serde::Serialize;
use serde_json::Value;

use super::projection::Source;
use super::{Error, Page, PageRequest, read_page, row_value};
use crate::store::{RegistryVersion, Store};

/// A kind of payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Money received through the gateway.
    Income,
    /// Money paid out through the gateway.
    Outcome,
    /// A share contribution into the wallet.
    Deposit,
    /// A return of shares from the wallet.
    Withdraw,
}

impl PaymentKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Income, Self::Outcome, Self::Deposit, Self::Withdraw];

    fn source(self) -> Source {
        match self {
            Self::Income => Source::Income,
            Self::Outcome => Source::Outcome,
            Self::Deposit => Source::Deposit,
            Self::Withdraw => Source::Withdraw,
        }
    }

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        self.source().as_str()
    }
}

/// One payment as of a block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payment {
    /// What kind of payment.
    pub kind: PaymentKind,
    /// Its id in its table (the contract reuses ids once a payment is settled; the hash
    /// names a payment for good).
    pub id: Option<u64>,
    /// The paying or paid member.
    pub username: Option<String>,
    /// `pending`, `authorized` (withdrawals), `completed` or `declined`.
    pub status: Option<String>,
    /// The payment's purpose: its `type` when the gateway row has one, else what the contract
    /// that opened it opens it for (`registration`, `deposit`, `withdraw`, or that contract).
    pub purpose: Option<String>,
    /// The payment's hash (lowercase).
    pub hash: Option<String>,
    /// Amount in smallest units.
    pub amount: Option<i64>,
    /// Creation time (seconds since 1970).
    pub created_at: Option<i64>,
    /// First block of this version.
    pub block_num: u32,
    /// The row.
    pub row: Value,
}

/// Which payments to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentFilter {
    /// Only payments of this member.
    pub username: Option<String>,
    /// Only payments with this status.
    pub status: Option<String>,
}

fn payment(kind: PaymentKind, version: &RegistryVersion) -> Result<Payment, Error> {
    let row = row_value(version, "payment row")?;
    Ok(Payment {
        kind,
        id: super::u64_field(&row, "id"),
        username: version.row.username.clone(),
        status: version.row.status.clone(),
        purpose: version.row.kind.clone(),
        hash: version.row.reference.clone(),
        amount: version.row.amount,
        created_at: version.row.created_at,
        block_num: version.block_num,
        row,
    })
}

/// Payments of `kind` in `coopname` as of `block_num`, by hash.
///
/// # Errors
/// [`Error`] when the store fails or a row is malformed.
pub async fn list(
    store: &Store,
    coopname: &str,
    block_num: u32,
    kind: PaymentKind,
    filter: &PaymentFilter,
    page: &PageRequest,
) -> Result<Page<Payment>, Error> {
    let mut query = page.query(kind.source(), coopname, block_num);
    query.username.clone_from(&filter.username);
    query.status.clone_from(&filter.status);
    read_page(store, &query, |version| payment(kind, version)).await
}

/// Every version of the payment of `kind` with `hash`, oldest first.
///
/// # Errors
/// As [`list`].
pub async fn history(store: &Store, kind: PaymentKind, hash: &str) -> Result<Vec<Payment>, Error> {
    store
        .registry_history(kind.source(), &hash.to_ascii_lowercase())
        .await?
        .iter()
        .map(|version| payment(kind, version))
        .collect()
}

/// Completed amounts of one member, in smallest units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberTotals {
    /// The member.
    pub username: String,
    /// Received through the gateway.
    pub income: i64,
    /// Paid out through the gateway.
    pub outcome: i64,
    /// Contributed as shares.
    pub deposit: i64,
    /// Returned from shares.
    pub withdraw: i64,
}

/// Completed amounts per member and for the cooperative, as of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Per member, by username.
    pub members: Vec<MemberTotals>,
    /// Sums over all members.
    pub cooperative: MemberTotals,
}

/// The completed payments of `coopname` as of `block_num`, summed per member and in total.
///
/// # Errors
/// [`Error`] when the store fails.
pub async fn totals(store: &Store, coopname: &str, block_num: u32) -> Result<Totals, Error> {
    let mut members: Vec<MemberTotals> = Vec::new();
    let mut cooperative = MemberTotals::default();
    for kind in PaymentKind::ALL {
        for (username, amount) in store
            .registry_amounts(kind.source(), coopname, "completed", block_num)
            .await?
        {
            let at = match members.binary_search_by(|member| member.username.cmp(&username)) {
                Ok(at) => at,
                Err(at) => {
                    members.insert(
                        at,
                        MemberTotals {
                            username,
                            ..MemberTotals::default()
                        },
                    );
                    at
                }
            };
            *members[at].amount_mut(kind) += amount;
            *cooperative.amount_mut(kind) += amount;
        }
    }
    Ok(Totals {
        members,
        cooperative,
    })
}

impl MemberTotals {
    fn amount_mut(&mut self, kind: PaymentKind) -> &mut i64 {
        match kind {
            PaymentKind::Income => &mut self.income,
            PaymentKind::Outcome => &mut self.outcome,
            PaymentKind::Deposit => &mut self.deposit,
            PaymentKind::Withdraw => &mut self.withdraw,
        }
    }
}
