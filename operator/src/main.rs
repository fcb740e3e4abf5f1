//! `mono-operator`: the hosting control plane (in progress).

fn main() {}
