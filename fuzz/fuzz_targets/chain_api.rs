//! Chain API answers as a node (or anything posing as one) sends them: the first two bytes are
//! the HTTP status, the rest the body. No answer may panic; each becomes a value or an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mono_instance::antelope::name::Name;
use mono_instance::chain::api::{
    self, Account, BlockInfo, Info, PushResult, TableRows, parse_raw_abi, parse_response,
};

fuzz_target!(|bytes: &[u8]| {
    let Some((status, body)) = bytes.split_first_chunk::<2>() else {
        return;
    };
    // Mostly successes, the rest spread over error statuses.
    let status = match u16::from_le_bytes(*status) % 8 {
        0..=4 => 200,
        5 => 202,
        6 => 500,
        _ => 400 + u16::from_le_bytes(*status) % 200,
    };
    let _: api::Result<Info> = parse_response("get_info", status, body);
    let _: api::Result<BlockInfo> = parse_response("get_block_info", status, body);
    let _: api::Result<TableRows> = parse_response("get_table_rows", status, body);
    let _: api::Result<Account> = parse_response("get_account", status, body);
    let _: api::Result<PushResult> = parse_response("send_transaction", status, body);
    let _ = parse_raw_abi(Name::from_str_const("soviet"), status, body);
});
