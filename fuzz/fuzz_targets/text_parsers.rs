//! Every text parser of the protocol core: no input may panic, and whatever parses must print
//! back to a form that parses to the same value (or, for time_point, prints the same).

#![no_main]

use std::fmt::{Debug, Display};
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use mono_instance::antelope::asset::Asset;
use mono_instance::antelope::checksum::{Checksum160, Checksum256, Checksum512};
use mono_instance::antelope::keys::{PrivateKey, PublicKey};
use mono_instance::antelope::name::Name;
use mono_instance::antelope::signature::Signature;
use mono_instance::antelope::symbol::{Symbol, SymbolCode};
use mono_instance::antelope::time::{BlockTimestamp, TimePoint, TimePointSec};

/// Parses `text`; when it parses, its printed form must parse back to the same value.
fn round_trip<T>(text: &str)
where
    T: FromStr + Display + PartialEq + Debug,
{
    if let Ok(value) = text.parse::<T>() {
        let printed = value.to_string();
        let reparsed = printed.parse::<T>().ok();
        assert_eq!(reparsed.as_ref(), Some(&value), "{text:?} printed as {printed:?}");
    }
}

/// Parses `text`; when it parses, printing must be stable: the printed form parses to a value
/// that prints the same. For types whose text form is coarser than their value (a time_point
/// prints milliseconds, as nodeos does, but parses microseconds).
fn print_fixpoint<T>(text: &str)
where
    T: FromStr + Display,
{
    if let Ok(value) = text.parse::<T>() {
        let printed = value.to_string();
        let reprinted = printed.parse::<T>().ok().map(|again| again.to_string());
        assert_eq!(reprinted.as_deref(), Some(printed.as_str()), "{text:?}");
    }
}

fuzz_target!(|text: &str| {
    round_trip::<Name>(text);
    round_trip::<SymbolCode>(text);
    round_trip::<Symbol>(text);
    round_trip::<Asset>(text);
    round_trip::<Checksum160>(text);
    round_trip::<Checksum256>(text);
    round_trip::<Checksum512>(text);
    round_trip::<PublicKey>(text);
    round_trip::<Signature>(text);
    print_fixpoint::<TimePoint>(text);
    round_trip::<TimePointSec>(text);
    round_trip::<BlockTimestamp>(text);
    if let Ok(key) = text.parse::<PrivateKey>() {
        let reparsed: PrivateKey = key.to_string().parse().expect("PVT_K1 form parses back");
        assert_eq!(reparsed.public_key(), key.public_key());
    }
});
