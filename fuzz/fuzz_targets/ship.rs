//! SHiP messages as a node sends them, in both generations' numbering (Leap 5 and Spring 1.x):
//! no input may panic; a result that decodes goes through the parser, which records what does
//! not decode instead of failing; traces and deltas that decode encode back to values that
//! decode equal.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mono_instance::antelope::binary;
use mono_instance::antelope::name::Name;
use mono_instance::antelope::ship::delta::decode_tables;
use mono_instance::antelope::ship::{Protocol, ShipResult, TableDelta, TransactionTrace};
use mono_instance::parser::{AbiSet, DEFAULT_CONTRACTS, Filter, decode_block};

fuzz_target!(|bytes: &[u8]| {
    let filter = Filter::new(&DEFAULT_CONTRACTS, Name::from_str_const("voskhod"));
    for protocol in [Protocol::leap5(), Protocol::spring1()] {
        if let Ok(ShipResult::Blocks(result)) = protocol.decode_result(bytes) {
            let _ = decode_block(&result, 0, &filter, &mut AbiSet::default());
        }
    }
    if let Ok(traces) = binary::from_bytes::<Vec<TransactionTrace>>(bytes) {
        let again: Vec<TransactionTrace> =
            binary::from_bytes(&binary::to_bytes(&traces)).expect("encoded traces decode");
        assert_eq!(again, traces);
    }
    if let Ok(deltas) = binary::from_bytes::<Vec<TableDelta>>(bytes) {
        let kept = decode_tables(bytes, &["contract_row", "account"]).expect("a valid list");
        let expected: Vec<TableDelta> = deltas
            .into_iter()
            .filter(|delta| delta.name == "contract_row" || delta.name == "account")
            .collect();
        assert_eq!(kept, expected);
    }
});
