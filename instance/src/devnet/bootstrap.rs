//! The devnet bootstrap: which accounts exist at genesis, with their keys and roles — the
//! system account, the contract accounts, and the demo cooperative `voskhod` with its
//! chairman and council members.
//!
//! System, contract and cooperative accounts exist from genesis; the council members are then
//! registered by the cooperative on chain, in block 2, through the same actions a real
//! cooperative uses ([`Bootstrap::cooperative_setup`]).
//!
//! The same JSON shape is printed when the devnet is ready, stored in the data directory so a
//! restart recreates the same genesis, and accepted by `--bootstrap FILE`. Randomness comes in
//! as an argument.

use std::fmt;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::antelope::checksum::Checksum256;
use crate::antelope::keys::{KeyError, PrivateKey, PublicKey};
use crate::antelope::name::Name;
use crate::antelope::time::{BlockTimestamp, TimePointSec};
use crate::devnet::contracts::common::{DRAFT, REGISTRATOR, SOVIET};
use crate::devnet::contracts::system::new_account;
use crate::devnet::state::{Account, Authority, EOSIO};
use crate::factory::templates::{self, TemplateFilesError};

/// The demo cooperative.
pub const DEMO_COOPNAME: Name = Name::from_str_const("voskhod");

/// Contract accounts created at genesis, in the order COOPOS deploys them.
pub const CONTRACT_ACCOUNTS: [Name; 8] = [
    REGISTRATOR,
    SOVIET,
    Name::from_str_const("gateway"),
    Name::from_str_const("wallet"),
    Name::from_str_const("branch"),
    Name::from_str_const("draft"),
    Name::from_str_const("fund"),
    Name::from_str_const("marketplace"),
];

/// Council board of the demo cooperative: chairman first.
const DEMO_BOARD: [(Name, Role); 3] = [
    (Name::from_str_const("chairman"), Role::Chairman),
    (Name::from_str_const("member1"), Role::Member),
    (Name::from_str_const("member2"), Role::Member),
];

/// Why a bootstrap is unusable.
#[derive(Debug, Error)]
pub enum BootstrapError {
    /// The file is not bootstrap JSON.
    #[error("bootstrap is not valid JSON of the expected shape")]
    Json(#[from] serde_json::Error),
    /// A private key does not parse.
    #[error("private key of {account} is invalid")]
    Key {
        /// The account.
        account: Name,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// A private key does not belong to the public key listed with it.
    #[error("private key of {account} does not match its public key")]
    KeyMismatch {
        /// The account.
        account: Name,
    },
    /// There is no `eosio` account with a private key to sign blocks.
    #[error("bootstrap has no eosio account with a private key")]
    NoProducerKey,
}

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `eosio`.
    System,
    /// Runs a contract.
    Contract,
    /// The cooperative.
    Cooperative,
    /// Chairman of the council.
    Chairman,
    /// Council member.
    Member,
}

/// One genesis account and the key of both its permissions.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapAccount {
    /// Account name.
    pub name: Name,
    /// Key of `owner` and `active`.
    pub public_key: PublicKey,
    /// The private key (`PVT_K1_…`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// Role.
    pub role: Role,
}

impl fmt::Debug for BootstrapAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootstrapAccount")
            .field("name", &self.name)
            .field("public_key", &self.public_key)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The genesis of a devnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// Chain id; derived from the rest when absent from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<Checksum256>,
    /// Timestamp of block 1.
    pub genesis_time: BlockTimestamp,
    /// The demo cooperative.
    pub coopname: Name,
    /// Genesis accounts.
    pub accounts: Vec<BootstrapAccount>,
}

impl Bootstrap {
    /// A fresh bootstrap with new random keys and block 1 at `genesis_time`.
    pub fn generate(rng: &mut impl CryptoRngCore, genesis_time: BlockTimestamp) -> Self {
        let mut accounts = Vec::new();
        let mut add = |name: Name, role: Role| {
            let key = PrivateKey::generate(rng);
            accounts.push(BootstrapAccount {
                name,
                public_key: key.public_key(),
                private_key: Some(key.to_string()),
                role,
            });
        };
        add(EOSIO, Role::System);
        for name in CONTRACT_ACCOUNTS {
            add(name, Role::Contract);
        }
        add(DEMO_COOPNAME, Role::Cooperative);
        for (name, role) in DEMO_BOARD {
            add(name, role);
        }
        let mut bootstrap = Self {
            chain_id: None,
            genesis_time,
            coopname: DEMO_COOPNAME,
            accounts,
        };
        bootstrap.chain_id = Some(bootstrap.derived_chain_id());
        bootstrap
    }

    /// Reads bootstrap JSON and checks its keys.
    pub fn from_json(text: &str) -> Result<Self, BootstrapError> {
        let mut bootstrap: Self = serde_json::from_str(text)?;
        for account in &bootstrap.accounts {
            if let Some(private_key) = account.private_key_parsed()?
                && private_key.public_key() != account.public_key
            {
                return Err(BootstrapError::KeyMismatch {
                    account: account.name,
                });
            }
        }
        if bootstrap.chain_id.is_none() {
            bootstrap.chain_id = Some(bootstrap.derived_chain_id());
        }
        Ok(bootstrap)
    }

    /// The chain id.
    pub fn chain_id(&self) -> Checksum256 {
        self.chain_id.unwrap_or_else(|| self.derived_chain_id())
    }

    /// The `eosio` key that signs blocks.
    pub fn producer_key(&self) -> Result<PrivateKey, BootstrapError> {
        self.accounts
            .iter()
            .filter(|account| account.name == EOSIO)
            .find_map(|account| account.private_key_parsed().transpose())
            .transpose()?
            .ok_or(BootstrapError::NoProducerKey)
    }

    /// Genesis account records, each with `owner` and `active` set to its key: every account
    /// but the council members, whom the cooperative registers on chain.
    pub fn genesis_accounts(&self) -> Vec<Account> {
        self.accounts
            .iter()
            .filter(|account| !account.role.is_council())
            .map(|account| {
                let auth = Authority::single_key(account.public_key);
                new_account(account.name, auth.clone(), auth, self.genesis_time)
            })
            .collect()
    }

    /// sha256 over the genesis time and every account's name and key.
    fn derived_chain_id(&self) -> Checksum256 {
        let mut hasher = Sha256::new();
        hasher.update(b"mono devnet genesis");
        hasher.update(self.genesis_time.slot().to_le_bytes());
        for account in &self.accounts {
            hasher.update(account.name.as_u64().to_le_bytes());
            hasher.update(account.public_key.to_wire());
        }
        Checksum256::new(hasher.finalize().into())
    }
}

/// One action of the cooperative's set-up: `contract::action` authorized by `actor@active`,
/// with its data as JSON for the contract's ABI.
#[derive(Debug, Clone, PartialEq)]
pub struct SetupAction {
    /// Contract account.
    pub contract: Name,
    /// Action name.
    pub action: Name,
    /// Authorizing account, whose key signs.
    pub actor: Name,
    /// Action data.
    pub data: Value,
}

impl Role {
    /// Whether the role is a seat on the council.
    pub fn is_council(self) -> bool {
        matches!(self, Self::Chairman | Self::Member)
    }
}

impl Bootstrap {
    /// The actions that make the demo cooperative work: the registrator registers it, the
    /// cooperative adds each council member as a participant and sets the member's key, and
    /// creates its council board. Empty unless the cooperative is the demo one.
    pub fn cooperative_setup(&self) -> Vec<SetupAction> {
        if self.coopname != DEMO_COOPNAME {
            return Vec::new();
        }
        let coop = self.coopname;
        let action = |contract: Name, action: &'static str, actor: Name, data: Value| SetupAction {
            contract,
            action: Name::from_str_const(action),
            actor,
            data,
        };
        let created_at = TimePointSec::from_secs(
            u32::try_from(self.genesis_time.to_time_point().as_micros() / 1_000_000).unwrap_or(0),
        );
        let council: Vec<&BootstrapAccount> = self
            .accounts
            .iter()
            .filter(|account| account.role.is_council())
            .collect();
        let mut actions = vec![action(REGISTRATOR, "init", EOSIO, json!({}))];
        for member in &council {
            actions.push(self.add_user(member.name, created_at));
            actions.push(action(
                REGISTRATOR,
                "changekey",
                coop,
                json!({"coopname": coop, "changer": coop, "username": member.name, "public_key": member.public_key}),
            ));
        }
        let members: Vec<Value> = council
            .iter()
            .map(|member| {
                let (position, title) = match member.role {
                    Role::Chairman => ("chairman", "Председатель совета"),
                    _ => ("member", "Член совета"),
                };
                json!({"username": member.name, "is_voting": true, "position_title": title, "position": position})
            })
            .collect();
        actions.push(action(
            SOVIET,
            "createboard",
            coop,
            json!({"coopname": coop, "username": coop, "type": "soviet", "members": members,
                   "name": "Совет", "description": ""}),
        ));
        actions
    }
}

impl Bootstrap {
    /// The project's document templates (`templates/`), each published by the `draft` account
    /// into its own scope with `draft::createdraft` and its Russian translation, as COOPOS
    /// holds the standard set; documents then render from the chain's rows.
    ///
    /// # Errors
    /// [`TemplateFilesError`] if a built-in template is broken.
    pub fn template_setup(&self) -> Result<Vec<SetupAction>, TemplateFilesError> {
        let mut actions = Vec::new();
        for (draft, _) in templates::builtin()? {
            let translation = draft.translations.get("ru").cloned().unwrap_or_default();
            actions.push(SetupAction {
                contract: DRAFT,
                action: Name::from_str_const("createdraft"),
                actor: DRAFT,
                data: json!({
                    "scope": DRAFT, "username": DRAFT, "registry_id": draft.registry_id, "lang": "ru",
                    "title": draft.title, "description": draft.description, "context": draft.context,
                    "model": draft.model.to_string(),
                    "translation_data": Value::from(serde_json::to_string(&translation).unwrap_or_default()),
                }),
            });
        }
        Ok(actions)
    }

    /// `registrator::adduser` of an individual member by the cooperative.
    fn add_user(&self, username: Name, created_at: TimePointSec) -> SetupAction {
        let registration_hash =
            Checksum256::new(Sha256::digest(username.to_string().as_bytes()).into());
        SetupAction {
            contract: REGISTRATOR,
            action: Name::from_str_const("adduser"),
            actor: self.coopname,
            data: json!({
                "coopname": self.coopname, "referer": "", "username": username, "type": "individual",
                "created_at": created_at, "initial": "100.0000 RUB", "minimum": "300.0000 RUB",
                "spread_initial": true, "meta": "", "registration_hash": registration_hash,
            }),
        }
    }

    /// Synthetic traffic for long histories: the cooperative adds member number `seq`, whose
    /// account name is `seq` written in 12 letters `a`-`z` (as MONO names users); distinct
    /// `seq` give distinct names.
    pub fn synthetic_member(&self, seq: u64, created_at: TimePointSec) -> SetupAction {
        let mut name = 0_u64;
        let mut rest = seq;
        let mut letters = [0_u64; 12];
        for letter in letters.iter_mut().rev() {
            *letter = rest % 26;
            rest /= 26;
        }
        // Letters `a`..`z` are 6..31 in the name alphabet, 5 bits each from the top.
        for (idx, letter) in letters.iter().enumerate() {
            name |= (letter + 6) << (64 - 5 * (idx + 1));
        }
        self.add_user(Name::from_u64(name), created_at)
    }
}

impl BootstrapAccount {
    /// The private key, when the bootstrap has it.
    pub fn private_key(&self) -> Result<Option<PrivateKey>, BootstrapError> {
        self.private_key_parsed()
    }

    fn private_key_parsed(&self) -> Result<Option<PrivateKey>, BootstrapError> {
        self.private_key
            .as_deref()
            .map(|text| {
                text.parse::<PrivateKey>()
                    .map_err(|source| BootstrapError::Key {
                        account: self.name,
                        source,
                    })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use rand_core::OsRng;

    use super::*;

    #[test]
    fn generated_bootstrap_round_trips_through_json() {
        let bootstrap = Bootstrap::generate(&mut OsRng, BlockTimestamp::from_slot(7));
        let text = serde_json::to_string(&bootstrap).expect("serializes");
        let back = Bootstrap::from_json(&text).expect("parses");
        assert_eq!(back, bootstrap);
        assert!(bootstrap.producer_key().is_ok());
        let roles: Vec<Role> = bootstrap
            .accounts
            .iter()
            .map(|account| account.role)
            .collect();
        assert_eq!(
            roles.iter().filter(|role| **role == Role::Chairman).count(),
            1
        );
        let council = roles.iter().filter(|role| role.is_council()).count();
        assert_eq!(council, 3);
        assert_eq!(
            bootstrap.genesis_accounts().len(),
            bootstrap.accounts.len() - council
        );
        assert_eq!(bootstrap.cooperative_setup().len(), 1 + 2 * council + 1);
        let drafts = bootstrap
            .template_setup()
            .expect("built-in templates are valid");
        assert_eq!(drafts.len(), templates::BUILTIN.len());
        assert!(drafts.iter().all(|setup| setup.actor == DRAFT));
    }

    #[test]
    fn synthetic_members_have_distinct_twelve_letter_names() {
        let bootstrap = Bootstrap::generate(&mut OsRng, BlockTimestamp::from_slot(7));
        let at = TimePointSec::from_secs(0);
        let names: Vec<String> = [0, 1, 26, 27, u64::from(u32::MAX)]
            .iter()
            .map(|seq| {
                let action = bootstrap.synthetic_member(*seq, at);
                action.data["username"].as_str().expect("name").to_owned()
            })
            .collect();
        assert_eq!(names[..3], ["aaaaaaaaaaaa", "aaaaaaaaaaab", "aaaaaaaaaaba"]);
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn mismatched_key_is_rejected() {
        let mut bootstrap = Bootstrap::generate(&mut OsRng, BlockTimestamp::from_slot(7));
        let other = bootstrap.accounts[1].private_key.clone();
        bootstrap.accounts[0].private_key = other;
        let text = serde_json::to_string(&bootstrap).expect("serializes");
        assert!(matches!(
            Bootstrap::from_json(&text),
            Err(BootstrapError::KeyMismatch { .. })
        ));
    }

    #[test]
    fn chain_id_is_derived_when_absent() {
        let mut bootstrap = Bootstrap::generate(&mut OsRng, BlockTimestamp::from_slot(7));
        let expected = bootstrap.chain_id();
        bootstrap.chain_id = None;
        let text = serde_json::to_string(&bootstrap).expect("serializes");
        assert_eq!(
            Bootstrap::from_json(&text).expect("parses").chain_id(),
            expected
        );
    }
}
