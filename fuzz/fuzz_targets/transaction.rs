//! Packed transactions as a node receives them: no input may panic, and bytes that unpack
//! must pack back to exactly the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mono_instance::antelope::transaction::{PackedTransaction, Transaction};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(transaction) = Transaction::unpack(bytes) {
        assert_eq!(transaction.pack(), bytes);
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Ok(packed) = serde_json::from_value::<PackedTransaction>(json) {
            let _ = packed.to_signed();
        }
    }
});
