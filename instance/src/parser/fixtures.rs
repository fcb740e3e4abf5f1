//! Test fixtures of the parser: action traces as SHiP delivers them.

use crate::antelope::checksum::Checksum256;
use crate::antelope::name::Name;
use crate::antelope::ship::{ActionReceipt, ActionTrace};
use crate::antelope::transaction::{Action, PermissionLevel};

/// An executed top-level trace of `account::name` at `receiver`, authorized by
/// `voskhod@active`, with `global_sequence` in its receipt.
pub(crate) fn action_trace(
    receiver: Name,
    account: Name,
    name: &str,
    data: Vec<u8>,
    global_sequence: u64,
) -> ActionTrace {
    ActionTrace {
        action_ordinal: 1,
        creator_action_ordinal: 0,
        closest_unnotified_ancestor_action_ordinal: 0,
        receipt: Some(ActionReceipt {
            receiver,
            act_digest: Checksum256::default(),
            global_sequence,
            recv_sequence: global_sequence,
            auth_sequence: Vec::new(),
            code_sequence: 1,
            abi_sequence: 1,
        }),
        receiver,
        act: Action {
            account,
            name: name.parse().expect("valid name"),
            authorization: vec![PermissionLevel {
                actor: Name::from_str_const("voskhod"),
                permission: Name::from_str_const("active"),
            }],
            data,
        },
        context_free: false,
        account_ram_deltas: Vec::new(),
        elapsed: 0,
        console: String::new(),
        except: None,
        error_code: None,
        return_value: Vec::new(),
    }
}
