//! ABIs as a chain serves them (binary `abi_def`, as in `get_raw_abi`) and as JSON: no input may
//! panic, and an ABI that loads must survive a binary round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mono_instance::antelope::abi::Abi;
use mono_instance::antelope::abi::def::AbiDef;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(def) = AbiDef::from_bin(bytes) {
        let again = AbiDef::from_bin(&def.to_bin()).expect("an encoded abi_def decodes");
        assert_eq!(again, def);
        let _ = Abi::from_def(def);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = Abi::from_json_str(text);
    }
});
