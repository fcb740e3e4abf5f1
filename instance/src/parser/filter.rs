//! Which chain events belong to the cooperative: actions and table rows of its contract accounts
//! (names differ between networks, so they are configured), plus the `eosio` system actions that
//! concern those accounts or the cooperative's own account.
//!
//! Pure: decisions use only the trace, the row and, for system actions, the leading name fields
//! of the raw action data, so nothing is decoded twice.

use std::collections::BTreeSet;

use crate::antelope::name::Name;
use crate::antelope::ship::{ActionTrace, ContractRow};
use crate::store::JsonText;

/// The system account.
pub const EOSIO: Name = Name::from_str_const("eosio");
/// `eosio::setabi`.
pub const SETABI: Name = Name::from_str_const("setabi");
/// `eosio::newaccount`.
pub const NEWACCOUNT: Name = Name::from_str_const("newaccount");
/// `eosio::updateauth`.
pub const UPDATEAUTH: Name = Name::from_str_const("updateauth");
/// `eosio::createaccnt`: COOPOS creates members' accounts through it, on behalf of a
/// cooperative named in its first field.
pub const CREATEACCNT: Name = Name::from_str_const("createaccnt");

/// The cooperative's share of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    contracts: BTreeSet<Name>,
    coopname: Name,
}

impl Filter {
    /// Keeps the actions and rows of `contracts` that belong to `coopname`.
    pub fn new(contracts: &[Name], coopname: Name) -> Self {
        Self {
            contracts: contracts.iter().copied().collect(),
            coopname,
        }
    }

    /// The cooperative's account.
    pub fn coopname(&self) -> Name {
        self.coopname
    }

    /// The contract accounts followed.
    pub fn contracts(&self) -> impl Iterator<Item = Name> + '_ {
        self.contracts.iter().copied()
    }

    /// Accounts whose ABI history is kept: the contracts and `eosio`.
    pub fn abi_accounts(&self) -> Vec<Name> {
        let mut accounts: Vec<Name> = self.contracts().collect();
        if !self.contracts.contains(&EOSIO) {
            accounts.push(EOSIO);
        }
        accounts
    }

    /// Whether an account's ABI history is kept.
    pub fn tracks_abi(&self, account: Name) -> bool {
        account == EOSIO || self.contracts.contains(&account)
    }

    /// Whether an executed action trace is kept, before its data is decoded: an action of a
    /// followed contract received by a followed contract (notifications between them included),
    /// or a system `setabi`/`updateauth`/`newaccount` naming a followed account or the
    /// cooperative, or a system `createaccnt` on the cooperative's behalf. Traces without a
    /// receipt (failed) are never kept.
    pub fn keeps_trace(&self, trace: &ActionTrace) -> bool {
        if trace.receipt.is_none() {
            return false;
        }
        let act = &trace.act;
        if self.contracts.contains(&trace.receiver) && self.contracts.contains(&act.account) {
            return true;
        }
        if act.account != EOSIO || trace.receiver != EOSIO {
            return false;
        }
        let concerned =
            |idx: usize| leading_name(&act.data, idx).is_some_and(|name| self.is_ours(name));
        if act.name == SETABI || act.name == UPDATEAUTH {
            concerned(0)
        } else if act.name == CREATEACCNT {
            leading_name(&act.data, 0) == Some(self.coopname)
        } else if act.name == NEWACCOUNT {
            concerned(0) || concerned(1)
        } else {
            false
        }
    }

    /// Whether decoded action data belongs to the cooperative: data without a `coopname`
    /// string field is everyone's (kept), data naming another cooperative is not.
    pub fn keeps_action_data(&self, data: &JsonText) -> bool {
        /// Reads only the `coopname` field, skipping the rest without building values.
        #[derive(serde::Deserialize)]
        struct Probe<'a> {
            #[serde(borrow)]
            coopname: Option<std::borrow::Cow<'a, str>>,
        }
        match serde_json::from_str::<Probe<'_>>(data.as_str()) {
            Ok(Probe {
                coopname: Some(coopname),
            }) => coopname == self.coopname.to_string(),
            _ => true,
        }
    }

    /// Whether a contract row is kept: a row of a followed contract in the cooperative's scope
    /// or in a contract's own scope (tables shared by all cooperatives).
    pub fn keeps_row(&self, row: &ContractRow) -> bool {
        self.contracts.contains(&row.code)
            && (row.scope == self.coopname || self.contracts.contains(&row.scope))
    }

    fn is_ours(&self, name: Name) -> bool {
        name == self.coopname || self.contracts.contains(&name)
    }
}

/// The `idx`-th leading `name` field of packed action data, if the data is long enough.
pub(crate) fn leading_name(data: &[u8], idx: usize) -> Option<Name> {
    let start = idx.checked_mul(8)?;
    let bytes: [u8; 8] = data.get(start..start.checked_add(8)?)?.try_into().ok()?;
    Some(Name::from_u64(u64::from_le_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::parser::fixtures::action_trace;

    const SOVIET: Name = Name::from_str_const("soviet");
    const REGISTRATOR: Name = Name::from_str_const("registrator");
    const TOKEN: Name = Name::from_str_const("eosio.token");
    const COOP: Name = Name::from_str_const("voskhod");
    const OTHER: Name = Name::from_str_const("othercoop");

    fn filter() -> Filter {
        Filter::new(&[SOVIET, REGISTRATOR], COOP)
    }

    fn trace(
        receiver: Name,
        account: Name,
        name: &str,
        data: Vec<u8>,
        executed: bool,
    ) -> ActionTrace {
        let mut trace = action_trace(receiver, account, name, data, 1);
        if !executed {
            trace.receipt = None;
        }
        trace
    }

    fn names(names: &[Name]) -> Vec<u8> {
        names
            .iter()
            .flat_map(|name| name.as_u64().to_le_bytes())
            .collect()
    }

    #[test]
    fn traces() {
        let cases = [
            (trace(SOVIET, SOVIET, "votefor", vec![], true), true),
            (
                trace(REGISTRATOR, SOVIET, "newsubmitted", vec![], true),
                true,
            ),
            (trace(SOVIET, SOVIET, "votefor", vec![], false), false),
            (trace(SOVIET, TOKEN, "transfer", vec![], true), false),
            (trace(TOKEN, TOKEN, "transfer", vec![], true), false),
            (trace(EOSIO, EOSIO, "setabi", names(&[SOVIET]), true), true),
            (trace(EOSIO, EOSIO, "setabi", names(&[TOKEN]), true), false),
            (
                trace(EOSIO, EOSIO, "updateauth", names(&[COOP]), true),
                true,
            ),
            (
                trace(EOSIO, EOSIO, "newaccount", names(&[COOP, OTHER]), true),
                true,
            ),
            (
                trace(EOSIO, EOSIO, "newaccount", names(&[EOSIO, SOVIET]), true),
                true,
            ),
            (
                trace(EOSIO, EOSIO, "newaccount", names(&[EOSIO, OTHER]), true),
                false,
            ),
            (
                trace(EOSIO, EOSIO, "createaccnt", names(&[COOP, OTHER]), true),
                true,
            ),
            (
                trace(EOSIO, EOSIO, "createaccnt", names(&[OTHER, COOP]), true),
                false,
            ),
            (trace(EOSIO, EOSIO, "setabi", vec![1, 2], true), false),
            (
                trace(EOSIO, EOSIO, "setcode", names(&[SOVIET]), true),
                false,
            ),
            (
                trace(SOVIET, EOSIO, "setabi", names(&[SOVIET]), true),
                false,
            ),
        ];
        for (idx, (trace, expected)) in cases.iter().enumerate() {
            assert_eq!(filter().keeps_trace(trace), *expected, "case {idx}");
        }
    }

    #[test]
    fn action_data() {
        let keeps =
            |value: serde_json::Value| filter().keeps_action_data(&JsonText::from_value(&value));
        assert!(keeps(json!({"coopname": "voskhod", "x": 1})));
        assert!(keeps(
            json!({"x": {"coopname": "othercoop"}, "coopname": "voskhod"})
        ));
        assert!(!keeps(json!({"coopname": "othercoop"})));
        assert!(!keeps(
            json!({"x": [1, {"y": null}], "coopname": "othercoop"})
        ));
        assert!(keeps(json!({"username": "ant"})));
        assert!(keeps(json!({"coopname": 7})));
        assert!(keeps(json!("not an object")));
    }

    #[test]
    fn rows() {
        let row = |code, scope| ContractRow {
            code,
            scope,
            table: Name::from_str_const("decisions"),
            primary_key: 1,
            payer: COOP,
            value: Vec::new(),
        };
        assert!(filter().keeps_row(&row(SOVIET, COOP)));
        assert!(filter().keeps_row(&row(REGISTRATOR, REGISTRATOR)));
        assert!(filter().keeps_row(&row(SOVIET, REGISTRATOR)));
        assert!(!filter().keeps_row(&row(SOVIET, OTHER)));
        assert!(!filter().keeps_row(&row(TOKEN, COOP)));
    }

    #[test]
    fn abi_accounts_include_the_system_account_once() {
        assert_eq!(filter().abi_accounts(), vec![REGISTRATOR, SOVIET, EOSIO]);
        assert_eq!(Filter::new(&[EOSIO], COOP).abi_accounts(), vec![EOSIO]);
        assert!(filter().tracks_abi(EOSIO));
        assert!(!filter().tracks_abi(TOKEN));
    }
}
