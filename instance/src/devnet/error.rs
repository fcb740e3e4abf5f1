//! Chain errors as nodeos reports them: an fc exception code, its name and its `what` text,
//! with the HTTP status the Chain API answers for each (`http_plugin` `handle_exception`).
//!
//! The devnet's validation and contracts fail only with these, so the HTTP layer renders every
//! rejection exactly as a nodeos client expects, and tests can match on the code.

use thiserror::Error;

/// The nodeos exception classes the devnet raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainErrorKind {
    /// fc `eof_exception`: truncated binary input.
    Eof,
    /// fc `parse_error_exception`: input that is not valid JSON or text form.
    Parse,
    /// fc `assert_exception`: e.g. a non-canonical transaction signature.
    Assert,
    /// `permission_query_exception`: a declared permission does not exist.
    PermissionQuery,
    /// `name_type_exception`.
    NameType,
    /// `authority_type_exception`.
    AuthorityType,
    /// `abi_type_exception`.
    AbiType,
    /// `packed_transaction_type_exception`.
    PackedTransactionType,
    /// `tx_no_action`.
    TxNoAction,
    /// `tx_no_auths`.
    TxNoAuths,
    /// `expired_tx_exception`.
    ExpiredTx,
    /// `tx_exp_too_far_exception`.
    TxExpTooFar,
    /// `invalid_ref_block_exception`.
    InvalidRefBlock,
    /// `tx_duplicate`.
    TxDuplicate,
    /// `account_name_exists_exception`.
    AccountNameExists,
    /// `invalid_action_args_exception`.
    InvalidActionArgs,
    /// `eosio_assert_message_exception`: a contract `check()` failed.
    AssertMessage,
    /// `action_validate_exception`: e.g. an action sent to an account that does not exist.
    ActionValidate,
    /// `account_query_exception`.
    AccountQuery,
    /// `contract_table_query_exception`.
    ContractTableQuery,
    /// `tx_duplicate_sig`.
    TxDuplicateSig,
    /// `tx_irrelevant_sig`.
    TxIrrelevantSig,
    /// `unsatisfied_authorization`.
    UnsatisfiedAuthorization,
    /// `missing_auth_exception`.
    MissingAuth,
    /// `irrelevant_auth_exception`.
    IrrelevantAuth,
    /// `invalid_permission`.
    InvalidPermission,
    /// `unknown_block_exception`.
    UnknownBlock,
    /// `transaction_exception`: e.g. inline actions nested too deep.
    Transaction,
}

impl ChainErrorKind {
    /// The fc exception code.
    pub fn code(self) -> i64 {
        match self {
            Self::Eof => 11,
            Self::Parse => 4,
            Self::Assert => 10,
            Self::PermissionQuery => 3_060_001,
            Self::NameType => 3_010_001,
            Self::AuthorityType => 3_010_004,
            Self::AbiType => 3_010_007,
            Self::PackedTransactionType => 3_010_010,
            Self::Transaction => 3_040_000,
            Self::TxNoAction => 3_040_002,
            Self::TxNoAuths => 3_040_003,
            Self::ExpiredTx => 3_040_005,
            Self::TxExpTooFar => 3_040_006,
            Self::InvalidRefBlock => 3_040_007,
            Self::TxDuplicate => 3_040_008,
            Self::ActionValidate => 3_050_000,
            Self::AccountNameExists => 3_050_001,
            Self::InvalidActionArgs => 3_050_002,
            Self::AssertMessage => 3_050_003,
            Self::AccountQuery => 3_060_002,
            Self::ContractTableQuery => 3_060_003,
            Self::TxDuplicateSig => 3_090_001,
            Self::TxIrrelevantSig => 3_090_002,
            Self::UnsatisfiedAuthorization => 3_090_003,
            Self::MissingAuth => 3_090_004,
            Self::IrrelevantAuth => 3_090_005,
            Self::InvalidPermission => 3_090_007,
            Self::UnknownBlock => 3_100_002,
        }
    }

    /// The exception's name as nodeos prints it in `error.name`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Eof => "eof_exception",
            Self::Parse => "parse_error_exception",
            Self::Assert => "assert_exception",
            Self::PermissionQuery => "permission_query_exception",
            Self::NameType => "name_type_exception",
            Self::AuthorityType => "authority_type_exception",
            Self::AbiType => "abi_type_exception",
            Self::PackedTransactionType => "packed_transaction_type_exception",
            Self::Transaction => "transaction_exception",
            Self::TxNoAction => "tx_no_action",
            Self::TxNoAuths => "tx_no_auths",
            Self::ExpiredTx => "expired_tx_exception",
            Self::TxExpTooFar => "tx_exp_too_far_exception",
            Self::InvalidRefBlock => "invalid_ref_block_exception",
            Self::TxDuplicate => "tx_duplicate",
            Self::ActionValidate => "action_validate_exception",
            Self::AccountNameExists => "account_name_exists_exception",
            Self::InvalidActionArgs => "invalid_action_args_exception",
            Self::AssertMessage => "eosio_assert_message_exception",
            Self::AccountQuery => "account_query_exception",
            Self::ContractTableQuery => "contract_table_query_exception",
            Self::TxDuplicateSig => "tx_duplicate_sig",
            Self::TxIrrelevantSig => "tx_irrelevant_sig",
            Self::UnsatisfiedAuthorization => "unsatisfied_authorization",
            Self::MissingAuth => "missing_auth_exception",
            Self::IrrelevantAuth => "irrelevant_auth_exception",
            Self::InvalidPermission => "invalid_permission",
            Self::UnknownBlock => "unknown_block_exception",
        }
    }

    /// The exception's `what` text.
    pub fn what(self) -> &'static str {
        match self {
            Self::Eof => "End Of File",
            Self::Parse => "Parse Error",
            Self::Assert => "Assert Exception",
            Self::PermissionQuery => "Permission Query Exception",
            Self::NameType => "Invalid name",
            Self::AuthorityType => "Invalid authority",
            Self::AbiType => "Invalid ABI",
            Self::PackedTransactionType => "Invalid packed transaction",
            Self::Transaction => "Transaction exception",
            Self::TxNoAction => "Transaction should have at least one normal action",
            Self::TxNoAuths => "Transaction should have at least one required authority",
            Self::ExpiredTx => "Expired Transaction",
            Self::TxExpTooFar => "Transaction Expiration Too Far",
            Self::InvalidRefBlock => "Invalid Reference Block",
            Self::TxDuplicate => "Duplicate transaction",
            Self::ActionValidate => "Action validate exception",
            Self::AccountNameExists => "Account name already exists",
            Self::InvalidActionArgs => "Invalid Action Arguments",
            Self::AssertMessage => "eosio_assert_message assertion failure",
            Self::AccountQuery => "Account Query Exception",
            Self::ContractTableQuery => "Contract Table Query Exception",
            Self::TxDuplicateSig => "Duplicate signature included",
            Self::TxIrrelevantSig => "Irrelevant signature included",
            Self::UnsatisfiedAuthorization => {
                "Provided keys, permissions, and delays do not satisfy declared authorizations"
            }
            Self::MissingAuth => "Missing required authority",
            Self::IrrelevantAuth => "Irrelevant authority included",
            Self::InvalidPermission => "Invalid Permission",
            Self::UnknownBlock => "Unknown block",
        }
    }

    /// HTTP status and message of the Chain API error body.
    pub fn http_status(self) -> (u16, &'static str) {
        match self {
            Self::UnknownBlock => (400, "Unknown Block"),
            Self::AccountQuery => (400, "Account lookup"),
            Self::Parse => (400, "Invalid Request"),
            Self::UnsatisfiedAuthorization => (401, "UnAuthorized"),
            Self::TxDuplicate => (409, "Conflict"),
            Self::Eof => (422, "Unprocessable Entity"),
            _ => (500, "Internal Service Error"),
        }
    }
}

/// A chain exception: its class and the detail message nodeos puts in `details[0].message`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{} ({}): {message}", kind.name(), kind.code())]
pub struct ChainError {
    kind: ChainErrorKind,
    message: String,
}

impl ChainError {
    /// A chain error of `kind` with its detail message.
    pub fn new(kind: ChainErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The exception class.
    pub fn kind(&self) -> ChainErrorKind {
        self.kind
    }

    /// The detail message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_http_plugin() {
        let cases = [
            (ChainErrorKind::UnknownBlock, 400, 3_100_002),
            (ChainErrorKind::UnsatisfiedAuthorization, 401, 3_090_003),
            (ChainErrorKind::TxDuplicate, 409, 3_040_008),
            (ChainErrorKind::Eof, 422, 11),
            (ChainErrorKind::AssertMessage, 500, 3_050_003),
            (ChainErrorKind::ExpiredTx, 500, 3_040_005),
        ];
        for (kind, status, code) in cases {
            assert_eq!(kind.http_status().0, status, "{kind:?}");
            assert_eq!(kind.code(), code, "{kind:?}");
        }
    }
}
